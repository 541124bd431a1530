"""The health analysis, per service: what each of its series did over one period.

The baselines stage judges every new value of a service's series against its usual
band; `track` folds those judgements into the service's open period (table
`health-periods`, key: the service) and, when a value's event time passes the period's
end, closes the period into a `HealthPart` for `health.parts` (one partition, where
`report.py` meets the parts of every service). Periods are `period_s` long and aligned
to the epoch, in event time only, so a replay closes the same periods with the same
numbers. A value of a period already closed (a check result that came late) is counted
as late, not folded into the wrong period.

Pure: never reads a clock or does I/O; the shell stores the new state and publishes.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.baselines.book import Observed
from agents.baselines.config import HealthConfig
from schemas.records import Record

__all__ = ["PARTS_KEY", "PARTS_TOPIC", "PERIODS", "HealthClock", "HealthPart", "SeriesHealth", "beat_due",
           "period_end_of", "track"]

PERIODS = "health-periods"
PARTS_TOPIC = "health.parts"
PARTS_KEY = "health"


class SeriesHealth(BaseModel):
    """One series over one period: how many values, how many unusual, the worst one and its band."""

    model_config = ConfigDict(extra="ignore")

    series: str
    label: str
    unit: str = ""
    readings: int = 0
    judged: int = 0  # readings that had a reference (the others came before enough history)
    unusual: int = 0
    first: float = 0.0
    last: float = 0.0
    last_at: float = 0.0
    # The latest reference: the usual band at the end of the period.
    median: float | None = None
    low: float | None = None
    high: float | None = None
    when: str = ""
    # The most unusual value (in robust standard deviations from usual) and its band.
    peak: float | None = None
    peak_at: float = 0.0
    peak_kind: str = ""  # "high", "low", "silent"
    peak_score: float = 0.0
    peak_median: float = 0.0
    peak_low: float = 0.0
    peak_high: float = 0.0
    peak_when: str = ""


class HealthPart(Record):
    """What one service's series did during one health period, on `health.parts`."""

    service: str
    period_start: float
    period_end: float
    series: list[SeriesHealth] = Field(default_factory=list)
    late: int = 0  # values that arrived after their period had closed

    @property
    def unusual(self) -> list[SeriesHealth]:
        return [s for s in self.series if s.unusual]


class HealthClock(Record):
    """Event time passing, for the report assembler on `health.parts`: a service's latest value time.

    Sent only in the first minutes of a period, while a report may wait for the model's
    words, so a missing answer gives the built-in text at its time, also on replay.
    """

    at: float
    service: str = ""


# Beats go on this long past the AI timeout: windows close a minute apart, and a service
# closes its period only with its first value of the next one.
BEAT_SLACK_S = 180.0


def beat_due(state: dict[str, Any] | None, t: float, cfg: HealthConfig, timeout_s: float) -> bool:
    """Whether a value at `t` should tell the assembler the time: early in the service's open period."""
    return state is not None and t - (state["period_end"] - cfg.period_s) <= timeout_s + BEAT_SLACK_S


def period_end_of(t: float, period_s: float) -> float:
    """The end of the period holding event time `t`: periods are (end - period_s, end].

    A window summary's time is its end, so the window 10:59–11:00 belongs to the hour
    that ends at 11:00.
    """
    return math.ceil(t / period_s) * period_s


def _fold(entry: dict[str, Any] | None, seen: Observed) -> dict[str, Any]:
    point, ref, kind = seen.point, seen.reference, seen.deviation
    s = SeriesHealth.model_validate(entry) if entry else SeriesHealth(
        series=point.series, label=point.label, unit=point.unit, first=point.value)
    s.readings += 1
    s.last, s.last_at = point.value, point.t
    if ref is not None:
        s.judged += 1
        s.median, s.low, s.high, s.when = ref.median, ref.low, ref.high, ref.when
    if kind is not None and ref is not None:
        s.unusual += 1
        score = abs(point.value - ref.median) / ref.spread if ref.spread else math.inf
        if s.peak is None or score > s.peak_score:
            s.peak, s.peak_at, s.peak_kind, s.peak_score = point.value, point.t, kind, min(score, 1e9)
            s.peak_median, s.peak_low, s.peak_high, s.peak_when = ref.median, ref.low, ref.high, ref.when
    return s.model_dump()


def _part(service: str, state: dict[str, Any], cfg: HealthConfig) -> HealthPart:
    end = state["period_end"]
    return HealthPart(service=service, period_start=end - cfg.period_s, period_end=end,
                      series=[SeriesHealth.model_validate(v) for _, v in sorted(state["series"].items())],
                      late=state.get("late", 0))


def track(state: dict[str, Any] | None, service: str, seen: list[Observed],
          cfg: HealthConfig) -> tuple[dict[str, Any] | None, list[HealthPart]]:
    """The service's open period with `seen` folded in, and the parts of periods that closed.

    Returns the state unchanged (the same object) when nothing was folded, so the shell
    writes the table only when something changed.
    """
    if not seen:
        return state, []
    new = {"period_end": state["period_end"], "series": dict(state["series"]), "late": state.get("late", 0)} \
        if state else None
    parts: list[HealthPart] = []
    for one in sorted(seen, key=lambda o: o.point.t):
        end = period_end_of(one.point.t, cfg.period_s)
        if new is None:
            new = {"period_end": end, "series": {}, "late": 0}
        elif end > new["period_end"]:
            parts.append(_part(service, new, cfg))
            new = {"period_end": end, "series": {}, "late": 0}
        elif end < new["period_end"]:
            new["late"] += 1
            continue
        new["series"][one.point.series] = _fold(new["series"].get(one.point.series), one)
    return new, parts
