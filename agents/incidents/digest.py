"""The hourly all-clear digest: per-service parts in, one digest per period out.

Each service reducer publishes one `DigestPart` per digest period on `incidents.digest`
(key "digest", one partition). `apply_digest_part` collects them in a `DigestBook` and
emits the digest of a period once every service it follows has sent its part for that
period or a later one, leaving out a service that fell far behind (it went away: see
`agents/periods.py`). A part that comes after its period's digest went out (the first
period after a fresh start, a service's first part) and is not clean sends the digest
again, whole, titled as an update with its own key: an "All clear" must not stand while
a late part says an incident was open. A clean late part changes nothing. In a replay
(`digest_at_end_of_input`) every period is held until the runner's end-of-input part,
then sent from all of its parts. Pure: never reads a clock, never publishes by itself.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agents.incidents.config import IncidentsConfig
from agents.incidents.effects import Effect, Publish
from agents.incidents.state import PeriodCounts
from agents.local_ai.narrative import utc
from agents.periods import gather, gather_all
from schemas.records import IncidentEvent, OutboxMessage, Record

__all__ = ["DIGEST_TOPIC", "DigestBook", "DigestPart", "apply_digest_part"]

DIGEST_TOPIC = "incidents.digest"
DIGEST_KEY = "digest"
REPORTED_KEPT = 3  # digested periods whose parts are kept, so a late part can correct the digest


class DigestPart(Record, PeriodCounts):
    """What one service did during one digest period, on `incidents.digest`."""

    service: str
    period_end: float
    open_incident: str = ""  # still open at the end of the period
    # Sent once by a replay's runner when its input has ended (service ""): every period
    # held (`digest_at_end_of_input`) goes out.
    end_of_input: bool = False


class DigestBook(BaseModel):
    """State of the single-partition digest aggregator."""

    model_config = ConfigDict(extra="forbid")

    periods: dict[str, dict[str, DigestPart]] = Field(default_factory=dict)  # "%.0f" start -> service -> part
    expected: list[str] = Field(default_factory=list)  # services of the last emitted period
    emitted: list[float] = Field(default_factory=list)  # recent emitted period starts
    progress: dict[str, float] = Field(default_factory=dict)  # service -> its newest period start
    late_parts: int = 0  # parts that came after their period's digest went out
    reported: dict[str, dict[str, DigestPart]] = Field(default_factory=dict)  # the last periods digested
    updates: dict[str, int] = Field(default_factory=dict)  # "%.0f" start -> digests sent again


def apply_digest_part(book: DigestBook | None, part: DigestPart,
                      cfg: IncidentsConfig, *, copy: bool = True) -> tuple[DigestBook, list[Effect]]:
    """The book with `part` in it, and the digests that are due. `copy=False`: `book` is
    the caller's to change (the stage validates a fresh one from its table for each part;
    a deep copy of it was most of a part's time once a replay held a day's parts)."""
    book = (book.model_copy(deep=True) if copy else book) if book else DigestBook()
    remembered = lambda start, parts: _remembered(book, start, parts, cfg)  # noqa: E731
    if part.end_of_input:
        return book, gather_all(book, remembered)
    return book, gather(book, part, remembered, late=lambda late: _late(book, late, cfg),
                        hold=cfg.digest_at_end_of_input)


def _remembered(book: DigestBook, start: float, parts: dict[str, DigestPart], cfg: IncidentsConfig) -> list[Effect]:
    book.reported[f"{start:.0f}"] = dict(parts)
    for key in sorted(book.reported, key=float)[:-REPORTED_KEPT]:
        del book.reported[key]
        book.updates.pop(key, None)
    return _digest(start, parts, cfg)


def _clean(part: DigestPart) -> bool:
    return not part.error_windows and not part.opened and not part.open_incident


def _late(book: DigestBook, part: DigestPart, cfg: IncidentsConfig) -> list[Effect]:
    key = f"{part.period_start:.0f}"
    parts = book.reported.get(key)
    if parts is None or part.service in parts:  # long gone, or redelivered
        return []
    parts[part.service] = part
    if _clean(part):
        return []
    book.updates[key] = book.updates.get(key, 0) + 1
    return _digest(part.period_start, parts, cfg, update=book.updates[key])


def _digest(period_start: float, parts: dict[str, DigestPart], cfg: IncidentsConfig,
            update: int = 0) -> list[Effect]:
    """The period's digest; `update` > 0: sent again, whole, after a late part that was not clean."""
    ordered = [parts[name] for name in sorted(parts)]
    period_end = max((p.period_end for p in ordered), default=period_start + cfg.digest_interval_s)
    clean = [p.service for p in ordered if _clean(p)]
    opened = [i for p in ordered for i in p.opened]
    resolved = [i for p in ordered for i in p.resolved]
    still_open = [p.open_incident for p in ordered if p.open_incident]
    oneoffs = sum(len(p.oneoffs) for p in ordered)
    all_clear = not opened and not still_open
    title = (f"{'Update: ' if update else ''}{'All clear' if all_clear else 'Hourly digest'}: "
             f"{utc(period_start)[:16]} to "
             f"{utc(period_end)[11:16]} UTC, {len(clean)} of {len(ordered)} "
             f"{'service' if len(ordered) == 1 else 'services'} clean")
    lines = [f"Clean: {', '.join(clean) or 'none'}",
             f"Incidents opened: {', '.join(opened) or 'none'}",
             f"Incidents resolved: {', '.join(resolved) or 'none'}",
             f"Still open: {', '.join(still_open) or 'none'}",
             f"One-off errors ticketed silently: {oneoffs}"]
    data = {
        "period_start": period_start, "period_end": period_end, "clean_services": clean,
        "opened": opened, "resolved": resolved, "still_open": still_open, "oneoffs": oneoffs,
        "services": {p.service: {"clean_windows": p.clean_windows, "silent_windows": p.silent_windows,
                                 "error_windows": p.error_windows, "oneoffs": len(p.oneoffs)}
                     for p in ordered},
    }
    key = f"digest:{period_start:.0f}" + (f":update-{update}" if update else "")
    event = IncidentEvent(event_id=key, type="digest", at=period_end, title=title, data=data)
    message = OutboxMessage(key=key, kind="digest", title=title, body="\n".join(lines), at=period_end)
    return [Publish("incidents.events", DIGEST_KEY, event), Publish("notify.outbox", DIGEST_KEY, message)]
