"""Host checks as pure functions of what psutil returned.

Each checker takes psutil's results (its named tuples, or anything with the same
attributes) and the check's configuration, and says ok, warn or fail with a message a
person can act on, the metrics it read and the thresholds it used. Reading psutil is
`agents.checks.host`'s job; these functions never read the machine or a clock, so tests
hand them any numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from agents.checks.config import CpuCheck, DiskCheck, MemoryCheck, NetworkCheck, ProcessCheck

__all__ = ["Outcome", "cpu", "disk", "grade", "memory", "network", "process", "reachability", "worst"]

_RANK = {"ok": 0, "unknown": 0, "warn": 1, "fail": 2}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    """What one check found; `agents.checks.runner` makes it a `CheckResult`."""

    check: str
    status: str  # ok | warn | fail | unknown
    message: str
    value: float | None = None
    threshold: float | None = None
    warning_threshold: float | None = None
    critical_threshold: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)


def grade(value: float, warning: float | None, critical: float | None) -> tuple[str, float | None]:
    """(status, threshold crossed): `fail` at or above critical, `warn` at or above warning."""
    if critical is not None and value >= critical:
        return "fail", critical
    if warning is not None and value >= warning:
        return "warn", warning
    return "ok", None


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default="ok")


def _limits(status: str, warning: float, critical: float, unit: str) -> str:
    if status == "ok":
        return f"(warning at {warning:g}{unit})"
    return f"(warning at {warning:g}{unit}, critical at {critical:g}{unit})"


def cpu(percent: float, cfg: CpuCheck, load1: float | None = None, cores: int | None = None) -> Outcome:
    """`percent`: psutil.cpu_percent(interval=cfg.sample_s), busy over the sample."""
    status, crossed = grade(percent, cfg.warning_threshold, cfg.critical_threshold)
    metrics = {"cpu_percent": round(percent, 1)}
    units = {"cpu_percent": "%"}
    if load1 is not None and cores:
        metrics["load1_per_core"] = round(load1 / cores, 2)
    return Outcome("cpu", status, f"cpu {percent:.1f}% busy {_limits(status, cfg.warning_threshold, cfg.critical_threshold, '%')}",
                   percent, crossed, cfg.warning_threshold, cfg.critical_threshold, metrics, units)


def memory(vm: Any, swap: Any | None, cfg: MemoryCheck) -> Outcome:
    """`vm`: psutil.virtual_memory(); `swap`: psutil.swap_memory(), or None to leave swap out."""
    status, crossed = grade(vm.percent, cfg.warning_threshold, cfg.critical_threshold)
    parts = [f"memory {vm.percent:.1f}% used ({vm.available / MIB:,.0f} MiB available)"]
    metrics = {"memory_percent": round(vm.percent, 1), "available_mib": round(vm.available / MIB, 1)}
    units = {"memory_percent": "%", "available_mib": "MiB"}
    value, warning, critical = vm.percent, cfg.warning_threshold, cfg.critical_threshold
    if cfg.swap and swap is not None and swap.total > 0:
        metrics["swap_percent"] = round(swap.percent, 1)
        units["swap_percent"] = "%"
        swap_status, swap_crossed = grade(swap.percent, cfg.swap_warning_threshold, cfg.swap_critical_threshold)
        parts.append(f"swap {swap.percent:.1f}% used")
        if _RANK[swap_status] > _RANK[status]:
            status, crossed = swap_status, swap_crossed
            value, warning, critical = swap.percent, cfg.swap_warning_threshold, cfg.swap_critical_threshold
    return Outcome("memory", status, ", ".join(parts) + " " + _limits(status, warning, critical, "%"),
                   value, crossed, warning, critical, metrics, units)


def disk(mount: str, usage: Any, inodes: tuple[int, int] | None, cfg: DiskCheck) -> Outcome:
    """`usage`: psutil.disk_usage(mount); `inodes`: (total, free) from os.statvfs, None if unknown."""
    status, crossed = grade(usage.percent, cfg.warning_threshold, cfg.critical_threshold)
    value, warning, critical = usage.percent, cfg.warning_threshold, cfg.critical_threshold
    metrics = {"used_percent": round(usage.percent, 1), "free_gib": round(usage.free / (1024 * MIB), 2)}
    units = {"used_percent": "%", "free_gib": "GiB"}
    parts = [f"disk {mount} {usage.percent:.1f}% used ({usage.free / (1024 * MIB):,.1f} GiB free)"]
    if cfg.inodes and inodes is not None and inodes[0] > 0:
        inode_percent = 100.0 * (inodes[0] - inodes[1]) / inodes[0]
        metrics["inodes_percent"] = round(inode_percent, 1)
        units["inodes_percent"] = "%"
        parts.append(f"inodes {inode_percent:.1f}% used")
        inode_status, inode_crossed = grade(inode_percent, cfg.inode_warning_threshold, cfg.inode_critical_threshold)
        if _RANK[inode_status] > _RANK[status]:
            status, crossed, value = inode_status, inode_crossed, inode_percent
            warning, critical = cfg.inode_warning_threshold, cfg.inode_critical_threshold
    return Outcome(f"disk:{mount}", status, ", ".join(parts) + " " + _limits(status, warning, critical, "%"),
                   value, crossed, warning, critical, metrics, units)


def network(interface: str, before: Any, after: Any, elapsed_s: float, cfg: NetworkCheck) -> Outcome:
    """`before`/`after`: psutil.net_io_counters(pernic=True)[interface], `elapsed_s` apart."""
    minutes = max(elapsed_s, 1e-6) / 60.0

    def per_min(name: str) -> float:
        # Counters can wrap or reset (driver reload): a negative difference counts as 0.
        return max(0, getattr(after, name) - getattr(before, name)) / minutes

    errors = per_min("errin") + per_min("errout")
    drops = per_min("dropin") + per_min("dropout")
    rate = errors + drops
    status, crossed = grade(rate, cfg.warning_threshold, cfg.critical_threshold)
    metrics = {"errors_per_min": round(errors, 2), "drops_per_min": round(drops, 2)}
    units = {"errors_per_min": "/min", "drops_per_min": "/min"}
    message = (f"{interface}: {errors:.1f} errors/min, {drops:.1f} drops/min "
               f"{_limits(status, cfg.warning_threshold, cfg.critical_threshold, '/min')}")
    return Outcome(f"net:{interface}", status, message, rate, crossed, cfg.warning_threshold,
                   cfg.critical_threshold, metrics, units)


def reachability(target: str, connect_ms: float | None, error: str, cfg: NetworkCheck) -> Outcome:
    """A TCP connect to `target`: its time in ms, or None and the error when it failed."""
    if connect_ms is None:
        return Outcome(f"tcp:{target}", "fail", f"{target} unreachable: {error}", None, None,
                       cfg.connect_warning_ms, None)
    status, crossed = grade(connect_ms, cfg.connect_warning_ms, None)
    return Outcome(f"tcp:{target}", status, f"{target} accepted a connection in {connect_ms:.0f} ms"
                   + (f" (warning at {cfg.connect_warning_ms:g} ms)" if status != "ok" else ""),
                   connect_ms, crossed, cfg.connect_warning_ms, None, {"connect_ms": round(connect_ms, 1)},
                   {"connect_ms": "ms"})


def process(label: str, found: list[Any], previous_start: float | None, cfg: ProcessCheck) -> tuple[Outcome, float | None]:
    """`found`: the processes matching `label` (each with `pid`, `rss` bytes, `create_time`).

    `previous_start` is the earliest start time seen by the last check (None: first look);
    a different one now means the process restarted in between. Returns the outcome and
    the start time to hand to the next check.
    """
    if not found:
        return Outcome(f"process:{label}", "fail", f"process {label} is not running", 0.0, None,
                       cfg.warning_threshold, cfg.critical_threshold, {"running": 0.0}, {}), previous_start
    start = min(p.create_time for p in found)
    restarted = previous_start is not None and abs(start - previous_start) > 0.5
    rss_mib = sum(p.rss for p in found) / MIB
    status, crossed = grade(rss_mib, cfg.warning_threshold, cfg.critical_threshold)
    message = (f"process {label} running ({len(found)} process(es), pid {found[0].pid}), "
               f"{rss_mib:,.0f} MiB resident {_limits(status, cfg.warning_threshold, cfg.critical_threshold, ' MiB')}")
    if restarted:
        status = worst([status, "warn"])
        message += "; it restarted since the last check"
    metrics = {"running": float(len(found)), "rss_mib": round(rss_mib, 1), "restarts": 1.0 if restarted else 0.0}
    return Outcome(f"process:{label}", status, message, rss_mib, crossed, cfg.warning_threshold,
                   cfg.critical_threshold, metrics, {"rss_mib": "MiB"}), start
