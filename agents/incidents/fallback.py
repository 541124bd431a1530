"""Conservative built-in answers for AI tasks that timed out, so the lifecycle never stalls.

They are deliberately cautious: severity from the finding level (fatal/critical -> P1,
else P2), never one-off, never a registry match, never a fix, and narratives built
from counts only. Each returns a dict valid against the task's output model in
schemas.ai_tasks. Never calls a model, never reads a clock.
"""

from __future__ import annotations

from typing import Any, Callable

from schemas.ai_tasks import (
    ClassifyInput,
    ClassifyOutput,
    MatchOutput,
    NarrativeInput,
    NarrativeOutput,
    ReviewOutput,
)

__all__ = ["FALLBACKS", "fallback_output", "narrative_text", "severity_for_level"]

_HEADINGS = {"summary": "Incident", "update": "Update", "report": "Resolved"}


def severity_for_level(level: str) -> str:
    return "P1" if level in ("fatal", "critical") else "P2"


def _classify(payload: dict[str, Any]) -> dict[str, Any]:
    data = ClassifyInput.model_validate(payload)
    return ClassifyOutput(severity=severity_for_level(data.finding.level), one_off=False,
                          category="unclassified", probable_cause="", confidence=0.0).model_dump()


def _match(payload: dict[str, Any]) -> dict[str, Any]:
    return MatchOutput(entry_id=None, confidence=0.0, reason="no AI answer in time").model_dump()


def narrative_text(task: str, data: NarrativeInput) -> NarrativeOutput:
    errors = sum(f.count for f in data.findings)
    worst = max(data.findings, key=lambda f: (f.count, f.fingerprint), default=None)
    what = worst.label if worst else "errors"
    title = f"{_HEADINGS.get(task, 'Incident')}: {data.service} {what}"[:200]
    minutes = max(0.0, ((data.resolved_at or data.now) - data.opened_at) / 60.0)
    lines = [
        f"{data.severity or 'unclassified'} incident {data.incident_id} on {data.service}.",
        f"{len(data.findings)} distinct finding(s), {errors} error(s) in "
        f"{data.windows_with_errors} window(s) over {minutes:.0f} min.",
    ]
    for finding in sorted(data.findings, key=lambda f: (-f.count, f.fingerprint))[:5]:
        where = f" at {finding.endpoint}" if finding.endpoint else ""
        lines.append(f"- {finding.count} x {finding.label}{where}")
    if data.tickets:
        lines.append("Tickets: " + ", ".join(data.tickets))
    if task == "report":
        lines.append(f"Clean for {data.clean_streak} window(s) before resolution.")
    return NarrativeOutput(title=title, text="\n".join(lines)[:8000])


def _narrative(task: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def answer(payload: dict[str, Any]) -> dict[str, Any]:
        return narrative_text(task, NarrativeInput.model_validate(payload)).model_dump()
    return answer


def _review(payload: dict[str, Any]) -> dict[str, Any]:
    return ReviewOutput(fix_needed=False, rationale="no AI review in time").model_dump()


# task -> built-in answer from the request payload
FALLBACKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "classify": _classify,
    "match": _match,
    "report": _narrative("report"),
    "review": _review,
    "summary": _narrative("summary"),
    "update": _narrative("update"),
}


def fallback_output(task: str, payload: dict[str, Any]) -> dict[str, Any]:
    return FALLBACKS[task](payload)
