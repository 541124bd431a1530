"""One rule for reports that gather one part per service and period (the hourly all-clear
digest of the incident stage, the health report of the baselines stage): a period is
reported once every service of the last reported period has sent its part, or once a
later period has begun (a service gone quiet does not hold the report back); a part for
a period already reported is counted late and goes to the book's `late` handler, if it
has one (else it changes nothing); a redelivered part changes nothing. Pure, on any book
with `periods`, `expected`, `emitted`, `late_parts`.

"A later period has begun" is read from the parts that arrived, so a service whose
parts come ahead of the others' (its partition read first, as when a worker catches up
on a backlog) has a period reported before the others' parts are in: theirs come late.
The health report amends itself then (`baselines/report.py`); the all-clear digest
counts them."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["EMITTED_KEPT", "gather"]

EMITTED_KEPT = 48  # reported period starts remembered, to tell a late part from a new period


def gather(book: Any, part: Any, report: Callable[[float, dict[str, Any]], list[Any]],
           late: Callable[[Any], list[Any]] | None = None) -> list[Any]:
    """Add `part` (with `service`, `period_start`) to `book` and return the effects of every
    period now due, oldest first (`report(period_start, parts by service)`), or of
    `late(part)` for a part of a period already reported."""
    if book.emitted and part.period_start <= max(book.emitted):
        book.late_parts += 1
        return late(part) if late is not None else []
    group = book.periods.setdefault(f"{part.period_start:.0f}", {})
    if part.service in group:  # redelivery
        return []
    group[part.service] = part
    effects: list[Any] = []
    for key in sorted(book.periods, key=float):
        parts = book.periods[key]
        complete = bool(book.expected) and set(book.expected) <= set(parts)
        later = any(float(other) > float(key) for other in book.periods)
        if not (complete or later):
            break
        effects += report(float(key), parts)
        del book.periods[key]
        book.expected = sorted(parts)
        book.emitted = (book.emitted + [float(key)])[-EMITTED_KEPT:]
    return effects
