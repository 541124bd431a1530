"""Local registry match: which known issue (of the last 10) a new finding is, if any.

Similarity of masked templates (token overlap and order), plus agreement of error type
and endpoint; below the threshold the answer is "no match". Pure and deterministic;
ties go to the candidate listed first (the most recent entry).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from schemas.ai_tasks import MatchInput, MatchOutput, RegistryCandidate
from schemas.records import Finding

__all__ = ["DEFAULT_MATCH_THRESHOLD", "match_locally", "similarity"]

DEFAULT_MATCH_THRESHOLD = 0.6
_TOKEN = re.compile(r"<[^>]*>|[A-Za-z][A-Za-z0-9_]+|\d+")


def _tokens(template: str) -> list[str]:
    # Masks (<*>, <NUM>) and bare numbers carry no identity: drop them.
    return [t.lower() for t in _TOKEN.findall(template) if not t.startswith("<") and not t.isdigit()]


def similarity(finding: Finding, candidate: RegistryCandidate) -> float:
    a, b = _tokens(finding.template), _tokens(candidate.template)
    if not a or not b:
        template = 0.0
    else:
        jaccard = len(set(a) & set(b)) / len(set(a) | set(b))
        template = 0.5 * jaccard + 0.5 * SequenceMatcher(None, a, b, autojunk=False).ratio()
    same_type = finding.error_type.lower() == candidate.error_type.lower() and bool(finding.error_type)
    same_endpoint = finding.endpoint == candidate.endpoint and bool(finding.endpoint)
    return round(0.7 * template + 0.2 * same_type + 0.1 * same_endpoint, 3)


def match_locally(inp: MatchInput, threshold: float = DEFAULT_MATCH_THRESHOLD) -> MatchOutput:
    best: RegistryCandidate | None = None
    best_score = 0.0
    for candidate in inp.candidates:
        score = similarity(inp.finding, candidate)
        if score > best_score:
            best, best_score = candidate, score
    if best is None or best_score < threshold:
        return MatchOutput(
            entry_id=None,
            confidence=round(1.0 - best_score, 3),
            reason=f"no known issue is similar enough (best similarity {best_score:.2f} < {threshold:.2f})",
        )
    ticket = f" ({best.jira_ticket_id})" if best.jira_ticket_id else ""
    note = (
        f"Seen again on {inp.service}: {inp.finding.count}x {inp.finding.error_type or 'error'}"
        f"{' on ' + inp.finding.endpoint if inp.finding.endpoint else ''}. "
        f"Matches known issue {best.entry_id}{ticket} by template similarity {best_score:.2f}."
    )
    return MatchOutput(
        entry_id=best.entry_id,
        confidence=min(1.0, best_score),
        reason=f"template similarity {best_score:.2f} with {best.entry_id}",
        note=note[:2000],
    )
