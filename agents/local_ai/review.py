"""Local post-resolution review: related tickets, whether a fix is needed, which runbook.

Keyword rules over the resolution report. The runbook is only ever one of the
allowlist passed in; this module never executes anything. Pure and deterministic.
"""

from __future__ import annotations

import re

from schemas.ai_tasks import ReviewInput, ReviewOutput

__all__ = ["review_locally"]

# runbook name -> what in a report suggests it, in order of preference.
_RUNBOOK_HINTS: dict[str, re.Pattern[str]] = {
    "rollback-deploy": re.compile(r"deploy|release|rollout|new version|regression", re.I),
    "restart-service": re.compile(r"out ?of ?memory|oom|memory leak|hung|deadlock|crash|panic|segfault", re.I),
    "scale-up": re.compile(r"too many connections|saturat|overload|high load|latency|timed? ?out|http 50[34]|"
                           r"service unavailable|queue (?:full|backlog)", re.I),
    "flush-cache": re.compile(r"stale cache|cache (?:corrupt|poison|inconsisten)|redis|memcache", re.I),
}


def review_locally(inp: ReviewInput) -> ReviewOutput:
    allowed = set(inp.runbooks)
    runbook = next((name for name, hint in _RUNBOOK_HINTS.items()
                    if name in allowed and hint.search(inp.report)), None)
    related = [t for t in inp.related_tickets if t and t in inp.report and t not in inp.tickets]
    recurring = bool(re.search(r"reopen|recurr|again|seen before|known issue", inp.report, re.I))
    fix_needed = runbook is not None or recurring or bool(related)
    reasons = []
    if runbook:
        reasons.append(f"the report matches the '{runbook}' runbook")
    if recurring:
        reasons.append("the problem has happened before")
    if related:
        reasons.append(f"related tickets: {', '.join(related)}")
    rationale = "; ".join(reasons) if reasons else "one-time incident that cleared on its own; no fix proposed"
    return ReviewOutput(fix_needed=fix_needed, runbook=runbook, related_tickets=related,
                        rationale=rationale[:2000])
