"""The periodic health report: per-service parts in, one report per period out.

Every service's period part (`health.py`) reaches `health.parts` (key "health", one
partition). `apply_health_part` collects them in a `HealthBook` and, once every service
of the previous report has reported or a later period's parts start arriving (a service
that went away must not hold the report back), the period's report is due: a Markdown
file beside the incident reports and one `digest` notification, routed like the hourly
digest. A period where everything was normal sends nothing unless `[health] digest` is
on; then each service gets one "all normal" line.

Who writes the words (`Narrator`): without a model, the built-in text at once. With a
model configured, the book asks the AI stage (task `health` on `ai.requests`, request id
`health:<period start>`, a numbers-only input with every string redacted) and keeps the
report pending; the answer comes back on `health.parts` (`apply_health_answer`). An
answer that is missing after the AI timeout, in event time (`HealthClock` beats from
the services' own values, `apply_health_clock`), or that has the wrong shape, gives
the built-in text; the report and the notification say which wrote them. The tables
of numbers are always built here. A late answer, after the built-in text went out,
changes nothing.

A service's part that comes after its period was reported (its partition was read after
the others', as when a worker catches up on a backlog) is not dropped: while the model
is still asked, it joins the pending report; once the report is out (the last
`REPORTED_KEPT` periods are remembered), an unusual part rewrites the report file with
every part and sends it again, titled as an update with its own key; a normal part
changes nothing sent. A period that sent nothing because every part in it was normal
is reported when an unusual part arrives late, as it would have been.

Pure: never reads a clock, never publishes by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Union
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Discriminator, Field, RootModel, Tag, ValidationError

from agents.baselines.config import HealthConfig
from agents.baselines.health import PARTS_KEY, HealthClock, HealthPart, SeriesHealth
from agents.baselines.model import Reference, usual_text, with_unit
from agents.local_ai import fallback_output
from agents.periods import gather
from agents.redact import redact
from schemas.ai_tasks import HealthInput, HealthSeries, HealthService, NarrativeOutput
from schemas.effects import Publish, WriteReport
from schemas.records import AIRequest, AIResult, OutboxMessage

__all__ = [
    "BUILT_IN", "HEALTH_BOOK", "HealthBook", "HealthMessage", "Narrator", "apply_health_answer", "apply_health_clock",
    "apply_health_part", "health_input", "service_line", "series_sentence",
]

HEALTH_BOOK = "health-book"
BUILT_IN_WRITER = "built-in text"
REPORTED_KEPT = 3  # reported periods whose parts are kept, so a late part can amend its report


@dataclass(frozen=True)
class Narrator:
    """Who writes the report's words: a model through the AI stage, or the built-in text at once."""

    ask_model: bool = False
    timeout_s: float = 30.0  # event time from asking to the built-in text
    redact_ips: bool = False


BUILT_IN = Narrator()


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "answer" if "request_id" in value else "part" if "period_start" in value else "clock"
    return {AIResult: "answer", HealthPart: "part"}.get(type(value), "clock")


class HealthMessage(RootModel):
    """What `health.parts` carries: a service's part, the AI stage's answer, or a beat of event time."""

    root: Annotated[Union[Annotated[HealthPart, Tag("part")], Annotated[AIResult, Tag("answer")],
                          Annotated[HealthClock, Tag("clock")]], Discriminator(_kind)]


class PendingReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str
    asked_at: float  # the book's event time when the model was asked
    parts: dict[str, HealthPart]


class ReportedPeriod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: dict[str, HealthPart]
    sent: bool  # a report went out (or is asked for); False: every part was normal, digest off
    updates: int = 0  # reports sent again for parts that came late


class HealthBook(BaseModel):
    """State of the single-partition report assembler."""

    model_config = ConfigDict(extra="forbid")

    periods: dict[str, dict[str, HealthPart]] = Field(default_factory=dict)  # "%.0f" start -> service -> part
    expected: list[str] = Field(default_factory=list)  # services of the last period reported
    emitted: list[float] = Field(default_factory=list)  # recent period starts reported
    progress: dict[str, float] = Field(default_factory=dict)  # service -> its newest period start
    late_parts: int = 0  # parts that came after their period's report
    now: float = 0.0  # event time: the latest period end, or beat, seen
    pending: dict[str, PendingReport] = Field(default_factory=dict)  # "%.0f" start -> asked the model
    reported: dict[str, ReportedPeriod] = Field(default_factory=dict)  # "%.0f" start -> the last periods out


def apply_health_part(book: HealthBook | None, part: HealthPart, cfg: HealthConfig,
                      tz: str = "UTC", narrator: Narrator = BUILT_IN) -> tuple[HealthBook, list]:
    book = book.model_copy(deep=True) if book else HealthBook()
    book.now = max(book.now, part.period_end)
    effects = _expire(book, cfg, tz, narrator)
    effects += gather(book, part, lambda start, parts: _due(book, start, parts, cfg, tz, narrator),
                      late=lambda late: _late(book, late, cfg, tz, narrator))
    return book, effects


def _late(book: HealthBook, part: HealthPart, cfg: HealthConfig, tz: str, narrator: Narrator) -> list:
    """A part of a period already reported (see the module's docstring)."""
    key = f"{part.period_start:.0f}"
    if key in book.pending:
        book.pending[key].parts.setdefault(part.service, part)
        return []
    done = book.reported.get(key)
    if done is None or part.service in done.parts:  # long gone, or redelivered
        return []
    done.parts[part.service] = part
    if not part.unusual:
        return []
    if not done.sent:  # nothing went out for this period: its report, as it would have been
        return _due(book, part.period_start, done.parts, cfg, tz, narrator)
    done.updates += 1
    start = part.period_start
    words = _built_in(start, done.parts, cfg, tz)
    words = NarrativeOutput(title=f"Update: {words.title}", text=words.text)
    return _write(start, done.parts, cfg, tz, words, key_suffix=f":update-{done.updates}",
                  note=f"sent again: {part.service} reported after the first report went out")


def _remember(book: HealthBook, start: float, parts: dict[str, HealthPart], sent: bool) -> None:
    book.reported[f"{start:.0f}"] = ReportedPeriod(parts=dict(parts), sent=sent)
    for key in sorted(book.reported, key=float)[:-REPORTED_KEPT]:
        del book.reported[key]


def apply_health_answer(book: HealthBook | None, result: AIResult, cfg: HealthConfig,
                        tz: str = "UTC", narrator: Narrator = BUILT_IN) -> tuple[HealthBook, list]:
    """The report the model's answer was for, written with its words (or the built-in
    text when the answer has the wrong shape or is the AI stage's own fallback)."""
    book = book.model_copy(deep=True) if book else HealthBook()
    key = next((k for k, p in book.pending.items() if p.request_id == result.request_id), None)
    if key is None:  # redelivered, or too late: the built-in text went out
        return book, []
    pending = book.pending.pop(key)
    start = float(key)
    _remember(book, start, pending.parts, sent=True)
    try:
        words = NarrativeOutput.model_validate(result.output)
    except ValidationError:  # the AI stage validates; the book does not trust a shape it cannot check
        return book, _write(start, pending.parts, cfg, tz, _built_in(start, pending.parts, cfg, tz),
                            note="the model's answer could not be used")
    if result.fallback or result.provider == "local":
        return book, _write(start, pending.parts, cfg, tz, words)
    return book, _write(start, pending.parts, cfg, tz, words, writer=result.model or result.provider)


def apply_health_clock(book: HealthBook | None, beat: HealthClock, cfg: HealthConfig,
                       tz: str = "UTC", narrator: Narrator = BUILT_IN) -> tuple[HealthBook, list]:
    """Event time passes: reports whose model did not answer in time get the built-in text."""
    book = book.model_copy(deep=True) if book else HealthBook()
    if beat.at <= book.now:
        return book, []
    book.now = beat.at
    return book, _expire(book, cfg, tz, narrator)


def _expire(book: HealthBook, cfg: HealthConfig, tz: str, narrator: Narrator) -> list:
    effects: list = []
    for key in sorted(book.pending, key=float):
        if book.now - book.pending[key].asked_at >= narrator.timeout_s:
            pending = book.pending.pop(key)
            start = float(key)
            _remember(book, start, pending.parts, sent=True)
            effects += _write(start, pending.parts, cfg, tz, _built_in(start, pending.parts, cfg, tz),
                              note=f"no answer from the model within {narrator.timeout_s:g} s")
    return effects


def _due(book: HealthBook, start: float, parts: dict[str, HealthPart], cfg: HealthConfig, tz: str,
         narrator: Narrator) -> list:
    """The period's report now (built-in text), or the model asked for its words."""
    if not any(p.unusual for p in parts.values()) and not cfg.digest:
        _remember(book, start, parts, sent=False)
        return []
    if not narrator.ask_model:
        _remember(book, start, parts, sent=True)
        return _write(start, parts, cfg, tz, _built_in(start, parts, cfg, tz))
    request_id = f"health:{start:.0f}"
    payload = _redacted(health_input(start, parts, cfg, tz).model_dump(mode="json"), narrator.redact_ips)
    request = AIRequest(request_id=request_id, task="health", service=PARTS_KEY,
                        at=max(p.period_end for p in parts.values()), payload=payload)
    book.pending[f"{start:.0f}"] = PendingReport(request_id=request_id, asked_at=book.now, parts=parts)
    return [Publish("ai.requests", PARTS_KEY, request)]


def _redacted(value: Any, mask_ips: bool) -> Any:
    """Every string of the payload redacted: labels and names come from configuration and logs."""
    if isinstance(value, str):
        return redact(value, mask_ips=mask_ips)
    if isinstance(value, dict):
        return {k: _redacted(v, mask_ips) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, mask_ips) for v in value]
    return value


def _span(start: float, end: float, tz: str) -> str:
    return f"{_clock(start, tz, '%Y-%m-%d %H:%M')} to {_clock(end, tz)} {tz}"


def _unusual_series(s: SeriesHealth, tz: str) -> HealthSeries:
    return HealthSeries(label=s.label, unit=s.unit, readings=s.readings, unusual=s.unusual, kind=s.peak_kind,
                        peak=s.peak, peak_at=_clock(s.peak_at, tz), usual_low=s.peak_low, usual_high=s.peak_high,
                        usual_median=s.peak_median, usual_when=s.peak_when, first=s.first, last=s.last,
                        sentence=series_sentence(s, tz))


def health_input(start: float, parts: dict[str, HealthPart], cfg: HealthConfig, tz: str = "UTC") -> HealthInput:
    """The report's input for the `health` task: per service its numbers, never a log line (not yet redacted)."""
    ordered = [parts[name] for name in sorted(parts)]
    services = [HealthService(
        service=p.service, status="unusual" if p.unusual else "normal" if any(s.judged for s in p.series)
        else "learning", series_count=len(p.series), unusual=[_unusual_series(s, tz) for s in p.unusual],
        normal=[s.label for s in p.series if s.judged and not s.unusual], line=service_line(p, cfg, tz))
        for p in ordered]
    return HealthInput(period=_span(start, max(p.period_end for p in ordered), tz), period_start=start,
                       period_end=max(p.period_end for p in ordered), services=services,
                       late_values=sum(p.late for p in ordered))


def _built_in(start: float, parts: dict[str, HealthPart], cfg: HealthConfig, tz: str) -> NarrativeOutput:
    payload = health_input(start, parts, cfg, tz).model_dump(mode="json")
    return NarrativeOutput.model_validate(fallback_output("health", payload, PARTS_KEY))


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


def _write(period_start: float, parts: dict[str, HealthPart], cfg: HealthConfig, tz: str,
           words: NarrativeOutput, writer: str = "", note: str = "", key_suffix: str = "") -> list:
    """The report file and its one notification, with `words` (`writer`: the model's name; empty: built-in)."""
    ordered = [parts[name] for name in sorted(parts)]
    unusual = [p for p in ordered if p.unusual]
    period_end = max(p.period_end for p in ordered)
    day = datetime.fromtimestamp(period_start, timezone.utc)
    filename = f"{day:%Y-%m-%d}-health-{day:%H%M}.md"
    fields = {"report": filename, "unusual_services": str(len(unusual)), "written_by": writer or BUILT_IN_WRITER}
    # Labels come from configuration and probe output: a token in one must not reach a chat.
    words = NarrativeOutput(title=redact(words.title), text=redact(words.text))
    message = OutboxMessage(key=f"health:{period_start:.0f}{key_suffix}", kind="digest", title=words.title, body=words.text,
                            at=period_end, fields=fields)
    content = redact(_markdown(words, ordered, cfg, tz, writer, note))
    return [WriteReport(filename, content), Publish("notify.outbox", PARTS_KEY, message)]


def _markdown(words: NarrativeOutput, ordered: list[HealthPart], cfg: HealthConfig, tz: str,
              writer: str, note: str) -> str:
    out = [f"# {words.title}", ""]
    unusual = [p for p in ordered if p.unusual]
    head = (f"{len(unusual)} of {len(ordered)} {'service' if len(ordered) == 1 else 'services'} "
            f"had values outside their usual band "
            f"(median and MAD by hour of the week).")
    if writer:
        out += [f"{head} Written by {writer} from the numbers only; the tables are built-in.", "", words.text]
    else:
        out.append(f"{head} Built-in text from the numbers only" + (f" ({note})." if note else "."))
    for part in unusual:
        out += ["", f"## {part.service}", ""]
        if not writer:
            out += [f"- {series_sentence(s, tz)}" for s in part.unusual]
            out.append("")
        out += ["| series | readings | unusual | first → latest | usual band at the end |",
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
