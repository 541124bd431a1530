"""What the console's charts read: each service's recent windows, and its baseline band.

Where the data lives (the choice, and why). The console is served by the worker that
runs the incident stage, which reads the incident-states table; the per-minute window
summaries are not kept there. So the console keeps its own small changelogged table,
`console-windows`, filled by its own consumer of `signals.windows` in that worker (see
`web.py`): keyed by service, co-partitioned with the incident states, one value per
service holding a ring of at most `RING_POINTS` points (`[window_end, lines/min,
errors/min]`), none older than `RING_SPAN_S` before the newest. A service's value is
rewritten once a minute (a few kB), and never grows past the bound.

The band is the baselines stage's own reference, read from its tables
(`baseline-series`, `baseline-buckets`, layout in `agents/baselines/book.py`) when that
stage runs in the same worker and so holds the same partitions; this module never
invents one. The usual range is what the model judges against (`model.reference`): the
10th to 90th percentile of the hour-of-week bucket once it has `min_bucket_samples`
values, else of the recent values weighted by a half-life. Stages may not import each
other, so the few lines computing it are repeated here, and a unit test holds them
equal to `agents.baselines.model.reference`.

Pure: no I/O, no clock; never changes what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from agents.week import hour_of_week, weighted_quantile
from schemas.records import WindowSummary

__all__ = ["BASELINE_BUCKETS", "BASELINE_SERIES", "Band", "RING_POINTS", "RING_SPAN_S", "WINDOWS_TABLE",
           "band_of", "remember"]

WINDOWS_TABLE = "console-windows"
RING_POINTS = 360  # one per minute: six hours
RING_SPAN_S = 6 * 3600.0
# The baselines stage's table names and series names (agents/baselines/book.py, series.py).
BASELINE_SERIES, BASELINE_BUCKETS = "baseline-series", "baseline-buckets"


def remember(ring: list[list[float]] | None, window: WindowSummary) -> list[list[float]] | None:
    """The service's ring with this window in it, or None when nothing changed (a redelivery)."""
    minutes = max(window.window_end - window.window_start, 1.0) / 60.0
    point = [float(window.window_end), round(window.lines / minutes, 3), round(window.errors / minutes, 3)]
    points = {p[0]: p for p in ring or []}
    if points.get(point[0]) == point:
        return None
    points[point[0]] = point
    newest = max(points)
    kept = [points[t] for t in sorted(points) if t > newest - RING_SPAN_S]
    return kept[-RING_POINTS:]


@dataclass(frozen=True)
class Band:
    """The usual range of one series over one hour of the week (`start`..`end`)."""

    start: float
    end: float
    low: float
    high: float
    when: str  # "for Tuesday 10:00" or "recently" (the model's fallback while the bucket fills)


def usual_range(bucket: list[float], recent: list[list[float]], t: float, cfg: Any) -> tuple[float, float, bool] | None:
    """(low, high, from the bucket?) as `agents.baselines.model.reference` has it, or None (still learning)."""
    if len(bucket) >= cfg.min_bucket_samples:
        pairs = sorted((float(v), 1.0) for v in bucket)
    elif len(recent) >= cfg.min_recent_samples:
        pairs = sorted((float(v), 0.5 ** (max(0.0, t - ts) / cfg.half_life_s)) for ts, v in recent)
    else:
        return None
    return weighted_quantile(pairs, 0.1), weighted_quantile(pairs, 0.9), len(bucket) >= cfg.min_bucket_samples


def band_of(service: str, series: str, start: float, end: float, series_table: Mapping[str, Any],
            buckets_table: Mapping[str, Any], cfg: Any) -> list[Band]:
    """The bands of `service`'s `series` ("lines_per_min", "errors_per_min") from `start` to `end` (now),
    one per hour of the week, with gaps where the model has no reference (yet)."""
    key = f"{service}|{series}"
    meta = series_table.get(key) or {}
    recent = [list(p) for p in meta.get("recent") or []]
    bands: list[Band] = []
    t = start
    while t < end:
        hour, name, hour_start = hour_of_week(t, cfg.timezone)
        hour_end = min(hour_start + 3600.0, end)
        # The decayed fallback is the model's reference of now, not of hours ago: only the last hour has it.
        usual = usual_range(list(buckets_table.get(f"{key}#{hour}") or []), recent if hour_end >= end else [],
                            hour_end, cfg)
        if usual is not None:
            low, high, from_bucket = usual
            bands.append(Band(t, hour_end, low, high, f"for {name}" if from_bucket else "recently"))
        t = hour_end
    return bands
