"""Which numeric series an input record carries, as baseline `Point`s.

A window summary gives its service's error rate and log volume per minute (silent
windows are a volume of 0); a host check or probe result gives each of its metrics,
per host. Results that could not say (`unknown`) and the baselines' own results give
nothing. Also the bound on series per service. Pure.
"""

from __future__ import annotations

from agents.baselines.config import BaselinesConfig
from agents.baselines.model import Point
from schemas.records import CheckResult, WindowSummary

__all__ = ["admit", "points_of"]


def points_of(record: WindowSummary | CheckResult, cfg: BaselinesConfig) -> list[Point]:
    if isinstance(record, WindowSummary):
        if not cfg.windows:
            return []
        minutes = max(record.window_end - record.window_start, 1.0) / 60.0
        t = record.window_end
        return [Point(record.service, "errors_per_min", "error rate", "/min", t, record.errors / minutes,
                      counts=True),
                Point(record.service, "lines_per_min", "log volume", "lines/min", t, record.lines / minutes,
                      low=True, counts=True)]
    if record.status == "unknown" or record.kind == "baseline":
        return []
    if (record.kind == "probe" and not cfg.probes) or (record.kind == "check" and not cfg.checks):
        return []
    points = []
    for metric, value in sorted(record.metrics.items()):
        probe_value = record.kind == "probe"
        name = f"probe:{metric}" if probe_value else f"{record.check}.{metric}"
        label = metric if probe_value or metric.startswith(record.check) else f"{record.check} {metric}"
        if record.host:
            name, label = f"{name}@{record.host}", label if probe_value else f"{label} on {record.host}"
        points.append(Point(record.service, name, label, record.units.get(metric, ""), record.at, float(value),
                            host=record.host))
    return points


def admit(known: list[str], series: str, cfg: BaselinesConfig) -> list[str] | None:
    """The service's series list with `series` in it, or None when it is full (not baselined)."""
    if series in known:
        return known
    if len(known) >= cfg.max_series_per_service:
        return None
    return sorted([*known, series])
