"""One rule for reports that gather one part per service and period (the hourly all-clear
digest of the incident stage, the health report of the baselines stage): a period is
reported once every service the book follows has sent its part for it or a later one,
leaving out a service that has fallen `STALE_PERIODS` behind the newest part (it went
away: it does not hold the report back for long). A part for a period already reported
is counted late and goes to the book's `late` handler, if it has one (else it changes
nothing); a redelivered part changes nothing. Pure, on any book with `periods`,
`expected`, `emitted`, `late_parts`, `progress`.

Each service's parts arrive in period order (its reducer sends them in order, on one
partition), so whether a period is due depends on how far each service has got, not on
the order in which different services' parts happen to arrive: a replay that reads one
partition ahead of another (a fast replay, a worker catching up on a backlog) reports the
same periods with the same parts as the live run did, as long as no service is
`STALE_PERIODS` periods ahead of another there. Until a first period has been reported
the book does not know which services to wait for: the first period is reported when a
later one begins, so there, and for a service's first part, arrival order still counts.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["EMITTED_KEPT", "STALE_PERIODS", "gather", "gather_all"]

EMITTED_KEPT = 48  # reported period starts remembered, to tell a late part from a new period
# A service whose newest part is this many periods behind the newest of all holds no
# period back (it went away, or stopped logging: the window stage stops its silent
# windows an hour after its last line). Live, a service that went away holds one period
# back by about two periods, once; a replay reading partitions unevenly gives the live
# digests while no service runs two periods ahead of another.
STALE_PERIODS = 3


def gather(book: Any, part: Any, report: Callable[[float, dict[str, Any]], list[Any]],
           late: Callable[[Any], list[Any]] | None = None, *, hold: bool = False) -> list[Any]:
    """Add `part` (with `service`, `period_start`, `period_end`) to `book` and return the
    effects of every period now due, oldest first (`report(period_start, parts by
    service)`), or of `late(part)` for a part of a period already reported. `hold`: no
    period is due until `gather_all` (a replay: the input has ended)."""
    progress = book.progress
    progress[part.service] = max(progress.get(part.service, part.period_start), part.period_start)
    if book.emitted and part.period_start <= max(book.emitted):
        book.late_parts += 1
        return late(part) if late is not None else []
    group = book.periods.setdefault(f"{part.period_start:.0f}", {})
    if part.service in group:  # redelivery
        return []
    group[part.service] = part
    newest = max(progress.values())
    horizon = STALE_PERIODS * max(part.period_end - part.period_start, 1.0)
    for service in [s for s, at in progress.items() if newest - at >= EMITTED_KEPT * horizon]:
        del progress[service]  # long gone: not followed any more
    return [] if hold else _due(book, report, newest, horizon)


def gather_all(book: Any, report: Callable[[float, dict[str, Any]], list[Any]]) -> list[Any]:
    """The effects of every period held, oldest first, each with all the parts it got."""
    return _due(book, report, float("inf"), 0.0)


def _due(book: Any, report: Callable[[float, dict[str, Any]], list[Any]], newest: float,
         horizon: float) -> list[Any]:
    effects: list[Any] = []
    for key in sorted(book.periods, key=float):
        start = float(key)
        if not book.emitted and newest <= start:
            break  # the first period: which services to wait for is not known until a later one begins
        if any(at < start and newest - at < horizon for at in book.progress.values()):
            break  # a service that is still around has not got this far
        parts = book.periods.pop(key)
        effects += report(start, parts)
        book.expected = sorted(parts)
        book.emitted = (book.emitted + [start])[-EMITTED_KEPT:]
    return effects
