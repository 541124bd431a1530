"""Checks on model output before it is published: shape, allowlist, severity floor.

Model output is untrusted data. It must validate against the task's output model; a
review may name only an allowlisted runbook and only related tickets it was given, a
classification only an allowlisted runbook with plain-token parameters and only
configured probe names (at most `MAX_PROBES`; a command, a path or arguments is never
a name and is dropped); a classification can never be less severe than hard evidence
(a fatal line) allows.
Never raises: returns the checked output or the list of problems (field names only,
never values, so nothing from the answer is echoed into logs or prompts).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.local_ai.classify import severity_floor
from agents.runbooks.catalog import SAFE_VALUE
from schemas.ai_tasks import TASKS, ClassifyInput, ClassifyOutput, MatchInput, MatchOutput, ReviewInput, ReviewOutput

__all__ = ["MAX_PROBES", "PROBE_NAME", "check_output", "problems_of"]

_ORDER = {"P1": 0, "P2": 1, "P3": 2}
MAX_PROBES = 3  # probes one answer may ask for
PROBE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}")  # as `[[checks.probes]]` names are


def problems_of(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['type']}"
            for err in exc.errors(include_input=False, include_url=False)]


def _enforce(task: str, inp: BaseModel, out: BaseModel, allowlist: frozenset[str],
             probes: frozenset[str] = frozenset()) -> list[str]:
    """Apply the rules a model may not break; returns notes on what was overridden."""
    notes: list[str] = []
    if isinstance(out, ReviewOutput) and isinstance(inp, ReviewInput):
        allowed = allowlist & set(inp.runbooks) if inp.runbooks else allowlist
        if out.runbook is not None and out.runbook not in allowed:
            out.runbook = None
            notes.append("runbook_not_allowlisted")
        given = set(inp.related_tickets) | set(inp.tickets)
        kept = [t for t in out.related_tickets if t in given]
        if len(kept) != len(out.related_tickets):
            out.related_tickets = kept
            notes.append("unknown_related_ticket_dropped")
    elif isinstance(out, MatchOutput) and isinstance(inp, MatchInput):
        if out.entry_id is not None and out.entry_id not in {c.entry_id for c in inp.candidates}:
            out.entry_id = None
            notes.append("match_not_a_candidate")
    elif isinstance(out, ClassifyOutput) and isinstance(inp, ClassifyInput):
        if out.summary is not None and inp.incident is None:
            out.summary = None  # a summary nobody asked for would edit the first alert
            notes.append("unasked_summary_dropped")
        notes += _check_classify_runbook(inp, out, allowlist)
        notes += _check_probes(inp, out, probes)
        floor = severity_floor(inp.finding)
        if _ORDER[out.severity] > _ORDER[floor]:
            out.severity = floor  # type: ignore[assignment]
            out.one_off = False
            notes.append("severity_raised_to_floor")
    return notes


def _check_classify_runbook(inp: ClassifyInput, out: ClassifyOutput, allowlist: frozenset[str]) -> list[str]:
    """A classification may name an allowlisted runbook with plain-token parameters, or nothing."""
    if out.runbook is None:
        if out.params is not None:
            out.params = None
            return ["params_without_runbook_dropped"]
        return []
    allowed = allowlist & set(inp.runbooks) if inp.runbooks else allowlist
    if out.runbook not in allowed:
        out.runbook, out.params = None, None
        return ["runbook_not_allowlisted"]
    if any(not SAFE_VALUE.match(name) or not SAFE_VALUE.match(value) for name, value in (out.params or {}).items()):
        # Text that is not one plain token ("api; rm -rf /") is never a parameter: the
        # whole proposal goes, not just the value.
        out.runbook, out.params = None, None
        return ["runbook_params_not_plain"]
    return []


def _check_probes(inp: ClassifyInput, out: ClassifyOutput, probes: frozenset[str]) -> list[str]:
    """Only configured probe names (offered in the input, when it offers some), each once, at most MAX_PROBES."""
    if not out.probes:
        return []
    allowed = probes & set(inp.probes) if inp.probes else probes
    notes, kept = [], []
    for name in out.probes:
        if not PROBE_NAME.fullmatch(name):  # "redis-cli LLEN jobs", "/usr/bin/x", "q; rm -rf /": never a name
            notes.append("probe_not_a_name")
        elif name not in allowed:
            notes.append("probe_not_allowlisted")
        elif name not in kept:
            kept.append(name)
    if len(kept) > MAX_PROBES:
        kept = kept[:MAX_PROBES]
        notes.append("probes_over_limit_dropped")
    out.probes = kept
    return sorted(set(notes))


def check_output(task: str, inp: BaseModel, data: Any, allowlist: frozenset[str],
                 probes: frozenset[str] = frozenset()) -> tuple[dict[str, Any] | None, list[str], list[str]]:
    """(output dict or None, schema problems, rule notes). `probes`: the configured probe names."""
    if not isinstance(data, dict):
        return None, ["answer: not a JSON object"], []
    out_model = TASKS[task][1]
    try:
        out = out_model.model_validate(data)
    except ValidationError as exc:
        return None, problems_of(exc), []
    notes = _enforce(task, inp, out, allowlist, probes)
    return out.model_dump(mode="json"), [], notes
