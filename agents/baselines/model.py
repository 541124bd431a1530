"""Baselines of numeric series: what is usual for this hour of the week, and what is not.

Each series (a service's error rate and log volume per window, a check metric, a probe
value) keeps, per hour-of-week bucket ("Tuesday 10:00"), its newest usual values, and
a short list of recent values whose weight halves every `half_life_s`: the fallback
while a bucket has too few values (the first week). The reference is the median and
the MAD of the bucket (weighted, for the fallback), so a few outliers do not move it.

A value deviates when it is more than `threshold` robust standard deviations above the
median and above the usual range (10th–90th percentile), for log volume also at least
`surge_ratio` times usual; log volume also when it drops
below the usual range to `drop_ratio` of usual and `drop_threshold` robust standard
deviations down, or to nothing (a silent window) for a service that usually logs.
Counts (lines, errors) never assume less spread than Poisson noise.
`confirm` deviations in a row open a finding (a `CheckResult` of kind `baseline` with a
plain explanation); `confirm` usual values in a row end it. Deviating values go to the recent
values only (the fallback follows a change), not to an hour-of-week bucket that judged
them, so an outage does not become next week's usual, until a finding has lasted
`relearn_after_s`: then the change is learned as the new usual. State is bounded: at most
`bucket_samples` values per bucket and `recent_samples` recent ones.

Pure: `observe(meta, bucket, point, cfg)` returns the new state and the result to
publish; time is the point's event time. Never reads a clock or does I/O.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from agents.baselines.config import BaselinesConfig
from agents.week import hour_of_week, weighted_quantile
from schemas.records import CheckResult

__all__ = ["Observation", "Point", "Reference", "bucket_of", "deviation", "explain", "observe", "reference",
           "usual_text", "with_unit"]

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Point:
    """One value of one series at event time `t`."""

    service: str
    series: str  # "errors_per_min", "lines_per_min", "probe:queue_depth@web-1", "disk:/.used_percent@web-1"
    label: str  # what people read: "error rate", "log volume", "queue_depth"
    unit: str  # "/min", "lines/min", "jobs", "%"
    t: float
    value: float
    host: str = ""
    low: bool = False  # a drop (and silence) deviates too: log volume
    counts: bool = False  # counted events (lines, errors): Poisson noise floors the spread

    @property
    def key(self) -> str:
        return f"{self.service}|{self.series}"


@dataclass(frozen=True)
class Reference:
    median: float
    spread: float  # robust standard deviation, floored
    low: float  # usual range: 10th percentile ...
    high: float  # ... to 90th
    when: str  # "for Tuesday 10:00" or "recently"


@dataclass(frozen=True)
class Observation:
    meta: dict[str, Any]
    bucket: list[float]
    result: CheckResult | None
    changed: bool = True
    reference: Reference | None = None  # what the point was judged against (None: too little history)
    deviation: str | None = None  # "high", "low", "silent" or None, whether or not it opened a finding


def bucket_of(t: float, timezone: str) -> tuple[int, str]:
    """(hour of the week 0..167, "Tuesday 10:00") of event time `t`."""
    index, label, _start = hour_of_week(t, timezone)
    return index, label


def _reference(pairs: list[tuple[float, float]], when: str, counts: bool, cfg: BaselinesConfig) -> Reference:
    pairs = sorted(pairs)
    median = weighted_quantile(pairs, 0.5)
    mad = weighted_quantile(sorted((abs(v - median), w) for v, w in pairs), 0.5)
    spread = max(MAD_TO_SIGMA * mad, cfg.relative_spread * abs(median), cfg.min_spread)
    if counts:
        # A count of usually 0 or 1 has MAD 0, yet 3 in a minute is ordinary noise.
        spread = max(spread, math.sqrt(max(median, 1.0)))
    return Reference(median, spread, weighted_quantile(pairs, 0.1), weighted_quantile(pairs, 0.9), when)


def reference(bucket: list[float], recent: list[list[float]], t: float, hour: str,
              cfg: BaselinesConfig, counts: bool = False) -> Reference | None:
    """The bucket's reference when it has enough values, else the decayed recent one, else None."""
    if len(bucket) >= cfg.min_bucket_samples:
        return _reference([(v, 1.0) for v in bucket], f"for {hour}", counts, cfg)
    if len(recent) >= cfg.min_recent_samples:
        weighted = [(v, 0.5 ** (max(0.0, t - ts) / cfg.half_life_s)) for ts, v in recent]
        return _reference(weighted, "recently", counts, cfg)
    return None


def deviation(point: Point, ref: Reference, cfg: BaselinesConfig) -> str | None:
    """"high", "low", "silent" or None."""
    x = point.value
    if x > ref.median + cfg.threshold * ref.spread and x > ref.high:
        # Busier than usual is news for volume only when it is a surge, not a busy day.
        if not point.low or x >= cfg.surge_ratio * ref.median:
            return "high"
    if point.low:
        if x == 0 and ref.median >= cfg.silent_min_lines:
            return "silent"
        if x < ref.median - cfg.drop_threshold * ref.spread and x < ref.low and x <= cfg.drop_ratio * ref.median:
            return "low"
    return None


def _fmt(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.0f}"
    return f"{x:.2g}"


def _with_unit(text: str, unit: str) -> str:
    if not unit:
        return text
    return text + unit if unit[0] in "/%" else f"{text} {unit}"


def _usual(ref: Reference, unit: str) -> str:
    span = _fmt(ref.low) if _fmt(ref.low) == _fmt(ref.high) else f"{_fmt(ref.low)}–{_fmt(ref.high)}"
    return f"usual {ref.when} is {_with_unit(span, unit)}"


def with_unit(x: float, unit: str) -> str:
    """"14/min", "500 jobs", "93%": a value as people read it."""
    return _with_unit(_fmt(x), unit)


def usual_text(ref: Reference, unit: str) -> str:
    """"usual for Tuesday 10:00 is 0–2/min"."""
    return _usual(ref, unit)


def explain(point: Point, ref: Reference, kind: str, streak: int) -> str:
    """"error rate 14/min, usual for Tuesday 10:00 is 0–2/min"."""
    usual = _usual(ref, point.unit)
    if kind == "silent":
        return f"{point.service} went silent: no log lines in {streak} windows in a row, {usual}"
    text = f"{point.label} {_with_unit(_fmt(point.value), point.unit)}, {usual}"
    if kind == "low":
        text += f" (a sudden drop to {point.value / ref.median:.0%} of usual)" if ref.median else ""
    return text


def _result(point: Point, status: str, message: str, ref: Reference) -> CheckResult:
    rid = f"baseline|{point.key}|{point.t:.3f}|{status}"
    return CheckResult(
        id=rid, trace_id=hashlib.blake2b(rid.encode(), digest_size=16).hexdigest(), check=f"baseline:{point.series}",
        service=point.service, host=point.host, status=status, kind="baseline", value=point.value,
        metrics={"value": point.value, "usual_low": ref.low, "usual_high": ref.high, "usual_median": ref.median},
        units={"value": point.unit}, message=message, at=point.t, recover_after=1)


def observe(meta: dict[str, Any] | None, bucket: list[float] | None, point: Point,
            cfg: BaselinesConfig) -> Observation:
    """Judge `point` against its series' state, then learn it if it was usual."""
    meta = dict(meta or {})
    bucket = list(bucket or [])
    if not math.isfinite(point.value) or point.t <= meta.get("last", -math.inf):
        return Observation(meta, bucket, None, changed=False)  # redelivered or out of order
    meta["last"] = point.t
    recent = list(meta.get("recent", []))  # [t, value] pairs, never mutated in place
    _, hour = bucket_of(point.t, cfg.timezone)
    ref = reference(bucket, recent, point.t, hour, cfg, point.counts)
    kind = deviation(point, ref, cfg) if ref is not None else None
    result = None
    learn = kind is None
    if kind is not None:
        group = "high" if kind == "high" else "low"
        meta["streak"] = meta.get("streak", 0) + 1 if meta.get("dev") == group else 1
        meta["dev"], meta["normal"] = group, 0
        if meta.get("firing") != group and meta["streak"] >= cfg.confirm:
            meta["firing"], meta["since"] = group, point.t
            result = _result(point, "fail", explain(point, ref, kind, meta["streak"]), ref)
        # A bucket still being filled learns whatever comes (the fallback judged it, not the bucket).
        learn = ref.when == "recently" or (
            bool(meta.get("firing")) and point.t - meta.get("since", point.t) >= cfg.relearn_after_s)
    else:
        meta["streak"], meta["dev"] = 0, ""
        if meta.get("firing"):
            meta["normal"] = meta.get("normal", 0) + 1
            if meta["normal"] >= cfg.confirm and ref is not None:
                text = f"{point.label} back to usual: {_with_unit(_fmt(point.value), point.unit)}, {_usual(ref, point.unit)}"
                result = _result(point, "ok", text, ref)
                meta["firing"], meta["normal"] = "", 0
    if learn:
        bucket = (bucket + [round(point.value, 6)])[-cfg.bucket_samples:]
    meta["recent"] = (recent + [[point.t, round(point.value, 6)]])[-cfg.recent_samples:]
    return Observation(meta, bucket, result, reference=ref, deviation=kind)
