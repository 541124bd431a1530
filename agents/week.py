"""Hours of the week and weighted quantiles: what the baselines model judges by and the
console draws its band from, in one place (neither stage imports the other)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["WEEKDAYS", "hour_of_week", "weighted_quantile"]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def hour_of_week(t: float, timezone: str) -> tuple[int, str, float]:
    """(hour of the week 0..167, "Tuesday 10:00", start of that hour) of event time `t` in `timezone`."""
    dt = datetime.fromtimestamp(t, _zone(timezone))
    start = dt.replace(minute=0, second=0, microsecond=0).timestamp()
    return dt.weekday() * 24 + dt.hour, f"{WEEKDAYS[dt.weekday()]} {dt.hour:02d}:00", start


def weighted_quantile(pairs: list[tuple[float, float]], q: float) -> float:
    """Weighted quantile of (value, weight) pairs sorted by value."""
    total = sum(w for _, w in pairs)
    acc = 0.0
    for value, weight in pairs:
        acc += weight
        if acc >= q * total - 1e-12:
            return value
    return pairs[-1][0]
