"""The periodic health report: per-service parts in, one report per period out.

Every service's period part (`health.py`) reaches `health.parts` (key "health", one
partition). `apply_health_part` collects them in a `HealthBook` and, once every service
of the previous report has reported or a later period's parts start arriving (a service
that went away must not hold the report back), writes the period's report with the
local narrator: a Markdown file beside the incident reports and one `digest`
notification, routed like the hourly digest. A period where everything was normal
sends nothing unless `[health] digest` is on; then each service gets one "all normal"
line. The narrator writes numbers, never log text: nothing in it needs redacting.

Pure: never reads a clock, never publishes by itself.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from agents.baselines.config import HealthConfig
from agents.baselines.health import PARTS_KEY, HealthPart, SeriesHealth
from agents.baselines.model import Reference, usual_text, with_unit
from schemas.effects import Publish, WriteReport
from schemas.records import OutboxMessage

__all__ = ["HEALTH_BOOK", "HealthBook", "apply_health_part", "service_line", "series_sentence"]

HEALTH_BOOK = "health-book"
_EMITTED_KEPT = 48


class HealthBook(BaseModel):
    """State of the single-partition report assembler."""

    model_config = ConfigDict(extra="forbid")

    periods: dict[str, dict[str, HealthPart]] = Field(default_factory=dict)  # "%.0f" start -> service -> part
    expected: list[str] = Field(default_factory=list)  # services of the last period reported
    emitted: list[float] = Field(default_factory=list)  # recent period starts reported
    late_parts: int = 0  # parts that came after their period's report


def apply_health_part(book: HealthBook | None, part: HealthPart, cfg: HealthConfig,
                      tz: str = "UTC") -> tuple[HealthBook, list]:
    book = book.model_copy(deep=True) if book else HealthBook()
    if book.emitted and part.period_start <= max(book.emitted):
        book.late_parts += 1
        return book, []
    group = book.periods.setdefault(f"{part.period_start:.0f}", {})
    if part.service in group:  # redelivery
        return book, []
    group[part.service] = part
    effects: list = []
    for key in sorted(book.periods, key=float):
        parts = book.periods[key]
        complete = bool(book.expected) and set(book.expected) <= set(parts)
        later = any(float(other) > float(key) for other in book.periods)
        if not (complete or later):
            break
        effects += _report(float(key), parts, cfg, tz)
        del book.periods[key]
        book.expected = sorted(parts)
        book.emitted = (book.emitted + [float(key)])[-_EMITTED_KEPT:]
    return book, effects


def _clock(t: float, tz: str, fmt: str = "%H:%M") -> str:
    return datetime.fromtimestamp(t, ZoneInfo(tz)).strftime(fmt)


def series_sentence(s: SeriesHealth, tz: str = "UTC") -> str:
    """"error rate 14/min at 10:13, usual recently is 0/min (2 of 10 readings unusual; latest 0/min)"."""
    ref = Reference(s.peak_median, 0.0, s.peak_low, s.peak_high, s.peak_when)
    value = with_unit(s.peak if s.peak is not None else s.last, s.unit)
    what = "no log lines" if s.peak_kind == "silent" else f"{s.label} {value}"
    return (f"{what} at {_clock(s.peak_at, tz)}, {usual_text(ref, s.unit)} "
            f"({s.unusual} of {s.readings} readings unusual; latest {with_unit(s.last, s.unit)})")


def service_line(part: HealthPart, cfg: HealthConfig, tz: str = "UTC") -> str:
    """"checkout: error rate 14/min at 10:13, usual ... ; log volume normal"."""
    unusual = part.unusual
    if not unusual:
        if not any(s.judged for s in part.series):
            return f"{part.service}: no usual values learned yet ({len(part.series)} series)"
        return f"{part.service}: all normal ({len(part.series)} series)"
    sentences = [series_sentence(s, tz) for s in unusual]
    normal = [s.label for s in part.series if not s.unusual and s.judged]
    if normal:
        shown = normal[:cfg.max_normal_listed]
        more = len(normal) - len(shown)
        text = ", ".join(shown) + (f" and {more} more" if more else "") if shown else f"{more} series"
        sentences.append(f"{text} normal")
    return f"{part.service}: " + "; ".join(sentences)


def _report(period_start: float, parts: dict[str, HealthPart], cfg: HealthConfig, tz: str) -> list:
    ordered = [parts[name] for name in sorted(parts)]
    unusual = [p for p in ordered if p.unusual]
    if not unusual and not cfg.digest:
        return []
    period_end = max(p.period_end for p in ordered)
    span = f"{_clock(period_start, tz, '%Y-%m-%d %H:%M')} to {_clock(period_end, tz)} {tz}"
    if unusual:
        names = ", ".join(p.service for p in unusual)
        title = f"Health report {span}: {len(unusual)} of {len(ordered)} service(s) unusual ({names})"
    else:
        title = f"Health report {span}: all {len(ordered)} service(s) normal"
    lines = [service_line(p, cfg, tz) for p in unusual]
    normal = [p for p in ordered if not p.unusual]
    if unusual and normal:
        lines.append(f"Normal: {', '.join(p.service for p in normal)}")
    elif not unusual:
        lines += [service_line(p, cfg, tz) for p in normal]
    day = datetime.fromtimestamp(period_start, timezone.utc)
    filename = f"{day:%Y-%m-%d}-health-{day:%H%M}.md"
    key = f"health:{period_start:.0f}"
    message = OutboxMessage(key=key, kind="digest", title=title, body="\n".join(lines), at=period_end,
                            fields={"report": filename, "unusual_services": str(len(unusual))})
    return [WriteReport(filename, _markdown(title, ordered, cfg, tz)), Publish("notify.outbox", PARTS_KEY, message)]


def _markdown(title: str, ordered: list[HealthPart], cfg: HealthConfig, tz: str) -> str:
    out = [f"# {title}", ""]
    unusual = [p for p in ordered if p.unusual]
    out.append(f"{len(unusual)} of {len(ordered)} service(s) had values outside their usual band "
               f"(median and MAD by hour of the week). Written by the local narrator from the numbers only.")
    for part in unusual:
        out += ["", f"## {part.service}", ""]
        out += [f"- {series_sentence(s, tz)}" for s in part.unusual]
        out += ["", "| series | readings | unusual | first → latest | usual band at the end |",
                "|---|---|---|---|---|"]
        for s in part.series:
            band = ("not learned yet" if s.median is None
                    else usual_text(Reference(s.median, 0.0, s.low, s.high, s.when), s.unit))
            trend = f"{with_unit(s.first, s.unit)} → {with_unit(s.last, s.unit)}"
            out.append(f"| {s.label} | {s.readings} | {s.unusual} | {trend} | {band} |")
    normal = [p for p in ordered if not p.unusual]
    if normal:
        out += ["", "## Normal", ""]
        out += [f"- {service_line(p, cfg, tz)}" for p in normal]
    late = sum(p.late for p in ordered)
    if late:
        out += ["", f"{late} value(s) arrived after their period had closed and are not counted here."]
    return "\n".join(out) + "\n"
