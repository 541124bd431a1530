"""What the AI is told about an incident, and the Markdown resolution report.

`narrative_input` is the full incident history sent for the first-alert summary, the
5-minute updates and the resolution report (the text itself is written by the AI stage
or by `agents.local_ai.narrative`, never here). `render_report` turns a resolved
incident into `YYYY-MM-DD-incident-<slug>.md`. Pure text building: never does I/O or
reads a clock.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

from agents.incidents.state import ONEOFF_JOINED, SEVERITY_RANK, Incident
from agents.local_ai.narrative import duration, opening_finding, utc
from schemas.ai_tasks import NarrativeInput

__all__ = ["narrative_input", "render_report", "report_filename"]


def _impact(incident: Incident) -> str:
    """Why the incident is as severe as it is: the impact of its worst finding (highest
    floor, then most frequent), as `impact_floor` said it; "" when no impact rule applied."""
    ranked = [(SEVERITY_RANK.get(d.floor, 0), finding.count, fingerprint, d.impact)
              for fingerprint, d in incident.decisions.items()
              if d.impact and (finding := incident.findings.get(fingerprint)) is not None]
    if not ranked:
        return ""
    return min(ranked, key=lambda r: (-r[0], -r[1], r[2]))[3]


def narrative_input(incident: Incident, now: float, clean_streak: int) -> NarrativeInput:
    findings = sorted(incident.findings.values(), key=lambda f: (f.first_seen, f.fingerprint))
    if incident.status == "resolved" and incident.resolved_clean_windows:
        # The streak that resolved it: a report written windows later says the same.
        clean_streak = incident.resolved_clean_windows
    joined = [f.what for f in findings
              if (d := incident.decisions.get(f.fingerprint)) is not None and d.category == ONEOFF_JOINED]
    return NarrativeInput(
        service=incident.service, incident_id=incident.incident_id, severity=incident.severity,
        opened_at=incident.opened_at, now=now, findings=findings,
        timeline=incident.timeline[-50:], tickets=list(incident.tickets),
        windows_with_errors=incident.windows_with_errors, clean_streak=clean_streak,
        resolved_at=incident.resolved_at, oneoffs_joined=joined, impact=_impact(incident),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].rstrip("-") or "incident"


def report_filename(incident: Incident) -> str:
    day = datetime.fromtimestamp(incident.resolved_at or incident.opened_at, tz=timezone.utc)
    # The hash keeps two same-titled incidents of one day from overwriting each other.
    short = hashlib.sha256(incident.incident_id.encode()).hexdigest()[:6]
    return f"{day:%Y-%m-%d}-incident-{_slug(incident.title)}-{short}.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(incident: Incident) -> str:
    resolved = incident.resolved_at or incident.opened_at
    lines = [
        f"# {incident.title or incident.incident_id}",
        "",
        f"- Incident: `{incident.incident_id}`",
        f"- Service: {incident.service}",
        f"- Severity: {incident.severity or 'unclassified'}",
        f"- Opened: {utc(incident.opened_at)}",
        f"- Resolved: {utc(resolved)}",
        f"- Duration: {duration(resolved - incident.opened_at)}",  # as the narrative below says it
        f"- Windows with errors: {incident.windows_with_errors}",
        f"- Reopened: {'never' if not incident.reopen_count else _times(incident.reopen_count)}",
        "",
        "## Report",
        "",
        _without_sections(incident.report_text) or "(no report)",
        "",
        "## Tickets",
        "",
    ]
    lines += [f"- {key}" for key in incident.tickets] or ["- (none recorded)"]
    lines += ["", "## Findings", "",
              "| What | Endpoint | Example | Kind | Level | Count | First seen | Last seen | Fingerprint |",
              "|---|---|---|---|---|---|---|---|---|"]
    ordered = sorted(incident.findings.values(), key=lambda f: (f.first_seen, f.fingerprint))
    joined = {fp for fp, d in incident.decisions.items() if d.category == ONEOFF_JOINED}
    for f in ordered:
        what = f.label + (" (one-off, joined this incident)" if f.fingerprint in joined else "")
        lines.append(f"| {_cell(what)} | {_cell(f.endpoint)} | {_cell(f.title[:120])} | {f.kind} | {f.level} | "
                     f"{f.count} | {utc(f.first_seen)} | {utc(f.last_seen)} | `{f.fingerprint}` |")
    samples = [(f.what, s) for f in ordered for s in f.samples[:1]]
    if samples:
        lines += ["", "### Samples", ""]
        for what, sample in samples:
            lines += [f"{what}:", "", "```", sample, "```", ""]
    lines += ["", "## Timeline", ""]
    lines += [f"- {utc(entry['at'])}: {entry['text']}" for entry in incident.timeline
              if not opening_finding(entry, incident.opened_at)]
    return "\n".join(lines).rstrip() + "\n"


# The built-in narrative lists signatures and the timeline, which the file gives in its
# own sections below: kept once, there.
_REPEATED_SECTIONS = ("\nSignatures (most frequent first):", "\nTimeline:")


def _without_sections(text: str) -> str:
    cut = min([i for i in (text.find(marker) for marker in _REPEATED_SECTIONS) if i >= 0], default=len(text))
    return text[:cut].rstrip()


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"
