"""The window book of one partition: partial aggregates in, one summary per service per minute out.

`apply_partial(book, partial, cfg)` is the whole stage-2 logic, a pure function of the
log: it drops offset ranges already applied (a crash between produce and commit of the
batch stage counts nothing twice), merges counters and findings into the open windows,
and when the partition's watermark minus the allowed lateness passes a window's end,
emits that window for every known service: `errors`, `clean` or `silent`, in window
order, each exactly once. The book is plain JSON (`to_dict`/`from_dict`) so the Faust
shell keeps it in a changelogged table and a restart resumes with identical output.

Never reads a clock, never does I/O, never grows without bound (ranges are compacted,
services expire, findings and samples are capped).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from agents.extract.config import ExtractConfig
from agents.redact import redact
from schemas.records import Finding, PartialAggregate, WindowSummary

__all__ = ["WindowBook", "apply_partial", "summary_id"]

MAX_RANGES = 256
_COUNTERS = ("lines", "errors", "warnings", "late", "ignored")


def summary_id(service: str, window_start: float, version: int) -> str:
    return f"{service}|{int(window_start)}|{version}"


@dataclass
class WindowBook:
    """Per-partition state of the window agent. Plain data, JSON round-trippable."""

    partition: int
    watermark: float = 0.0
    next_window: int | None = None  # first window start not emitted yet
    applied: list[list[int]] = field(default_factory=list)  # merged [from, to] offset ranges
    applied_floor: int = -1  # everything at or below was applied (compacted history)
    services: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> first, last
    open: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # service -> start -> window
    overlapping_ranges: int = 0
    late_after_emit: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition, "watermark": self.watermark, "next_window": self.next_window,
            "applied": [list(r) for r in self.applied], "applied_floor": self.applied_floor,
            "services": {k: dict(v) for k, v in self.services.items()},
            "open": _copy(self.open), "overlapping_ranges": self.overlapping_ranges,
            "late_after_emit": self.late_after_emit,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WindowBook":
        return cls(
            partition=int(data["partition"]), watermark=float(data.get("watermark", 0.0)),
            next_window=data.get("next_window"), applied=[list(r) for r in data.get("applied", [])],
            applied_floor=int(data.get("applied_floor", -1)),
            services={k: dict(v) for k, v in data.get("services", {}).items()},
            open=_copy(data.get("open", {})), overlapping_ranges=int(data.get("overlapping_ranges", 0)),
            late_after_emit=int(data.get("late_after_emit", 0)),
        )

    # --- offset ranges -----------------------------------------------------------------

    def covers(self, first: int, last: int) -> bool:
        if last <= self.applied_floor:
            return True
        return any(lo <= max(first, self.applied_floor + 1) and last <= hi for lo, hi in self.applied)

    def overlaps(self, first: int, last: int) -> bool:
        return first <= self.applied_floor or any(first <= hi and lo <= last for lo, hi in self.applied)

    def record_range(self, first: int, last: int) -> None:
        ranges = sorted([*self.applied, [first, last]])
        merged: list[list[int]] = []
        for lo, hi in ranges:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        while len(merged) > MAX_RANGES:  # forget the oldest gaps; they will not be refilled
            self.applied_floor = max(self.applied_floor, merged.pop(0)[1])
        self.applied = merged


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def apply_partial(book: WindowBook, partial: PartialAggregate, cfg: ExtractConfig) -> list[WindowSummary]:
    """Merge one partial into `book` (mutated) and return the summaries now due, in order."""
    if partial.source_partition != book.partition:
        raise ValueError(f"partial of partition {partial.source_partition} applied to book of {book.partition}")
    if book.covers(partial.offset_from, partial.offset_to):
        return []
    if book.overlaps(partial.offset_from, partial.offset_to):
        # Counted twice in part rather than lost: at-least-once, and visible in metrics.
        book.overlapping_ranges += 1
    book.record_range(partial.offset_from, partial.offset_to)
    width = cfg.window_s
    for service, by_start in partial.windows.items():
        for start_text, data in by_start.items():
            _merge_window(book, cfg, service, int(float(start_text)), data)
    book.watermark = max(book.watermark, partial.watermark)
    return _close_due(book, cfg, width)


def _merge_window(book: WindowBook, cfg: ExtractConfig, service: str, start: int, data: dict[str, Any]) -> None:
    width = cfg.window_s
    lines = int(data.get("lines", 0))
    if book.next_window is not None and start < book.next_window:
        # That minute was already emitted: count the lines as late in the first open one.
        book.late_after_emit += lines
        start = book.next_window
        data = {**data, "late": int(data.get("late", 0)) + lines}
    known = book.services.get(service)
    seen_until = float(start + width)
    if known is None:
        book.services[service] = {"first": float(start), "last": seen_until}
    else:
        known["first"] = min(known["first"], float(start))
        known["last"] = max(known["last"], seen_until)
    window = book.open.setdefault(service, {}).setdefault(
        str(start), {"lines": 0, "errors": 0, "warnings": 0, "late": 0, "ignored": 0, "findings": {}})
    for name in _COUNTERS:
        window[name] += int(data.get(name, 0))
    findings = window["findings"]
    for incoming in data.get("findings", []):
        fp = incoming["fingerprint"]
        current = findings.get(fp)
        samples = [redact(s) for s in incoming.get("samples", [])]
        if current is None:
            if len(findings) >= cfg.max_findings_per_window:
                continue
            findings[fp] = {**incoming, "samples": samples[: cfg.samples_per_fingerprint]}
            continue
        current["count"] += int(incoming.get("count", 1))
        current["first_seen"] = min(current["first_seen"], incoming.get("first_seen", current["first_seen"]))
        current["last_seen"] = max(current["last_seen"], incoming.get("last_seen", current["last_seen"]))
        room = cfg.samples_per_fingerprint - len(current["samples"])
        if room > 0:
            current["samples"].extend(samples[:room])


def _close_due(book: WindowBook, cfg: ExtractConfig, width: int) -> list[WindowSummary]:
    limit = book.watermark - cfg.allowed_lateness_s
    if book.next_window is None:
        starts = [int(s) for by_start in book.open.values() for s in by_start]
        book.next_window = min(starts) if starts else int(limit // width) * width
    summaries: list[WindowSummary] = []
    while book.next_window + width <= limit:
        start = book.next_window
        _forget_services(book, cfg, start)
        if not book.services and not book.open:
            book.next_window = max(start + width, int(limit // width) * width)
            continue
        for service in sorted(book.services):
            if book.services[service]["first"] <= start:
                data = book.open.get(service, {}).pop(str(start), None)
                summaries.append(_summary(service, start, width, data, cfg.summary_version))
        for service in [s for s, by_start in book.open.items() if not by_start]:
            del book.open[service]
        book.next_window = start + width
    return summaries


def _forget_services(book: WindowBook, cfg: ExtractConfig, start: int) -> None:
    gone = [s for s, seen in book.services.items()
            if start - seen["last"] >= cfg.forget_service_after_s and not book.open.get(s)]
    for service in gone:
        del book.services[service]


def _summary(service: str, start: int, width: int, data: dict[str, Any] | None, version: int) -> WindowSummary:
    data = data or {}
    identity = summary_id(service, start, version)
    findings = sorted(data.get("findings", {}).values(), key=lambda f: (-int(f["count"]), f["fingerprint"]))
    errors = int(data.get("errors", 0))
    lines = int(data.get("lines", 0))
    status = "errors" if errors > 0 else ("clean" if lines > 0 else "silent")
    return WindowSummary(
        id=identity, trace_id=hashlib.blake2b(identity.encode(), digest_size=16).hexdigest(),
        service=service, window_start=float(start), window_end=float(start + width), status=status,
        lines=lines, errors=errors, warnings=int(data.get("warnings", 0)), late_lines=int(data.get("late", 0)),
        ignored=int(data.get("ignored", 0)), findings=[Finding.model_validate(f) for f in findings],
        version=version)
