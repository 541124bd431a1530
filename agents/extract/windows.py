"""The window book: partial aggregates from every `logs.raw` partition in, one summary per service per minute out.

Producers partition as they like (librdkafka hashes keys with CRC32, aiokafka with
murmur2, unkeyed shippers spread lines over every partition), so one service's lines
can arrive on any `logs.raw` partition. The batch stage therefore splits each partial by
service (`split_partial`, a stable hash of the service name picks the book), and one
book per `signals.partials` partition merges what every source partition saw of its
services.

`apply_partial(book, partial, cfg)` is the whole stage-2 logic, a pure function of the
log: it drops offset ranges already applied, per source partition (a crash between
produce and commit of the batch stage counts nothing twice), merges counters and
findings into the open windows, and when the low watermark over all source partitions
minus the allowed lateness passes a window's end, emits that window for every known
service of the book: `errors`, `clean` or `silent`, in window order, each exactly once.
The book is plain JSON (`to_dict`/`from_dict`) so the Faust shell keeps it in a
changelogged table and a restart resumes with identical output.

Never reads a clock, never does I/O, never grows without bound (ranges are compacted,
services expire, findings, routes and samples are capped).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Any

from agents.extract.accounts import ROUTE_MARGIN
from agents.extract.config import ExtractConfig
from agents.redact import redact
from schemas.records import Finding, PartialAggregate, RouteCount, WindowSummary

__all__ = ["SourceProgress", "WindowBook", "apply_partial", "book_of", "split_partial", "summary_id"]

MAX_RANGES = 256
_COUNTERS = ("lines", "errors", "warnings", "late", "ignored")


def summary_id(service: str, window_start: float, version: int) -> str:
    return f"{service}|{int(window_start)}|{version}"


def book_of(service: str, books: int) -> int:
    """The window book (signals.partials partition) that owns a service: stable across
    processes and versions (CRC-32 of the UTF-8 name), whatever partitioned the line."""
    return zlib.crc32(service.encode("utf-8", "surrogatepass")) % books if books > 1 else 0


def split_partial(partial: PartialAggregate, books: int) -> list[tuple[int, PartialAggregate]]:
    """One partial per book, each with the services that book owns and the same offset
    range and watermark: every book hears from every source partition at every flush, so
    its low watermark moves and a gap in a source's offsets would show."""
    by_book: list[dict[str, Any]] = [{} for _ in range(books)]
    for service, windows in partial.windows.items():
        by_book[book_of(service, books)][service] = windows
    return [(book, partial.model_copy(update={"windows": windows})) for book, windows in enumerate(by_book)]


@dataclass
class SourceProgress:
    """What one book has applied of one source partition: offset ranges and watermark."""

    watermark: float = float("-inf")
    applied: list[list[int]] = field(default_factory=list)  # merged [from, to] offset ranges
    applied_floor: int = -1  # everything at or below was applied (compacted history)
    idle: bool = False  # caught up with nothing new: not waited for until it sends data

    def to_dict(self) -> dict[str, Any]:
        return {"watermark": self.watermark if self.watermark != float("-inf") else None,
                "applied": [list(r) for r in self.applied], "applied_floor": self.applied_floor,
                "idle": self.idle}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SourceProgress":
        wm = data.get("watermark")
        return cls(watermark=float("-inf") if wm is None else float(wm),
                   applied=[list(r) for r in data.get("applied", [])], applied_floor=int(data.get("applied_floor", -1)),
                   idle=bool(data.get("idle", False)))

    def covers(self, first: int, last: int) -> bool:
        if last <= self.applied_floor:
            return True
        return any(lo <= max(first, self.applied_floor + 1) and last <= hi for lo, hi in self.applied)

    def overlaps(self, first: int, last: int) -> bool:
        return first <= self.applied_floor or any(first <= hi and lo <= last for lo, hi in self.applied)

    def leaves_gap(self, first: int) -> bool:
        """True when `first` is past the next offset expected after everything applied."""
        top = max([self.applied_floor, *(hi for _lo, hi in self.applied)])
        return top >= 0 and first > top + 1

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


@dataclass
class WindowBook:
    """State of one window book (one `signals.partials` partition). Plain data, JSON round-trippable."""

    partition: int
    watermark: float = 0.0  # low watermark over the source partitions, as last advanced
    next_window: int | None = None  # first window start not emitted yet
    source_count: int = 0  # logs.raw partitions that feed this book (0: unknown, older records)
    sources: dict[int, SourceProgress] = field(default_factory=dict)
    services: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> first, last
    open: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # service -> start -> window
    overlapping_ranges: int = 0
    offset_gaps: int = 0
    late_after_emit: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition, "watermark": self.watermark, "next_window": self.next_window,
            "source_count": self.source_count,
            "sources": {str(p): s.to_dict() for p, s in sorted(self.sources.items())},
            "services": {k: dict(v) for k, v in self.services.items()},
            "open": _copy(self.open), "overlapping_ranges": self.overlapping_ranges,
            "offset_gaps": self.offset_gaps, "late_after_emit": self.late_after_emit,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WindowBook":
        partition = int(data["partition"])
        sources = {int(p): SourceProgress.from_dict(s) for p, s in data.get("sources", {}).items()}
        if "applied" in data and not sources:  # a book written when each book had one source
            sources[partition] = SourceProgress(
                watermark=float(data.get("watermark", 0.0)), applied=[list(r) for r in data["applied"]],
                applied_floor=int(data.get("applied_floor", -1)))
        return cls(
            partition=partition, watermark=float(data.get("watermark", 0.0)),
            next_window=data.get("next_window"), source_count=int(data.get("source_count", 0)), sources=sources,
            services={k: dict(v) for k, v in data.get("services", {}).items()},
            open=_copy(data.get("open", {})), overlapping_ranges=int(data.get("overlapping_ranges", 0)),
            offset_gaps=int(data.get("offset_gaps", 0)), late_after_emit=int(data.get("late_after_emit", 0)),
        )

    def source(self, partition: int) -> SourceProgress:
        progress = self.sources.get(partition)
        if progress is None:
            progress = self.sources[partition] = SourceProgress()
        return progress

    def low_watermark(self) -> float | None:
        """The event time every source partition that may still send has passed; None until
        all have reported. Idle sources are not waited for; when all are idle, everything
        there is has been seen."""
        if self.source_count and len(self.sources) < self.source_count:
            return None
        active = [s.watermark for s in self.sources.values() if not s.idle]
        marks = active or [s.watermark for s in self.sources.values()]
        if not marks or (active and min(marks) == float("-inf")):
            return None
        low = min(marks) if active else max(marks)
        return None if low == float("-inf") else low


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def apply_partial(book: WindowBook, partial: PartialAggregate, cfg: ExtractConfig) -> list[WindowSummary]:
    """Merge one partial into `book` (mutated) and return the summaries now due, in order."""
    source = book.source(partial.source_partition)
    book.source_count = max(book.source_count, partial.source_partitions)
    if partial.idle:
        source.idle = True
        source.watermark = max(source.watermark, partial.watermark)
        return _advance(book, cfg)
    if source.covers(partial.offset_from, partial.offset_to):
        return []
    source.idle = False
    if source.overlaps(partial.offset_from, partial.offset_to):
        # Counted twice in part rather than lost: at-least-once, and visible in metrics.
        book.overlapping_ranges += 1
    elif source.leaves_gap(partial.offset_from):
        book.offset_gaps += 1
    source.record_range(partial.offset_from, partial.offset_to)
    for service, by_start in partial.windows.items():
        for start_text, data in by_start.items():
            _merge_window(book, cfg, service, int(float(start_text)), data)
    source.watermark = max(source.watermark, partial.watermark)
    return _advance(book, cfg)


def _advance(book: WindowBook, cfg: ExtractConfig) -> list[WindowSummary]:
    low = book.low_watermark()
    if low is None:
        return []
    book.watermark = max(book.watermark, low)
    return _close_due(book, cfg, cfg.window_s)


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
    if data.get("routes"):
        _merge_routes(window.setdefault("routes", {}), data["routes"], cfg.max_routes_per_window * ROUTE_MARGIN)
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


def _merge_routes(routes: dict[str, dict[str, int]], incoming: dict[str, Any], room: int) -> None:
    """Sum requests per route; a new route past `room` is not kept (bounded book)."""
    for route, counts in incoming.items():
        current = routes.get(route)
        if current is None:
            if len(routes) >= room:
                continue
            routes[route] = {"requests": int(counts.get("requests", 0)), "failed": int(counts.get("failed", 0))}
        else:
            current["requests"] += int(counts.get("requests", 0))
            current["failed"] += int(counts.get("failed", 0))


def _busiest(routes: dict[str, dict[str, int]], limit: int) -> dict[str, RouteCount]:
    """The `limit` routes with the most requests (ties: by name, so every replay agrees).
    The others are left out of the summary; their requests are still in its `lines`."""
    ranked = sorted(routes.items(), key=lambda item: (-item[1]["requests"], item[0]))[:limit]
    return {route: RouteCount(requests=counts["requests"], failed=counts["failed"]) for route, counts in ranked}


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
                summaries.append(_summary(service, start, width, data, cfg.summary_version,
                                          cfg.max_routes_per_window))
        for service in [s for s, by_start in book.open.items() if not by_start]:
            del book.open[service]
        book.next_window = start + width
    return summaries


def _forget_services(book: WindowBook, cfg: ExtractConfig, start: int) -> None:
    gone = [s for s, seen in book.services.items()
            if start - seen["last"] >= cfg.forget_service_after_s and not book.open.get(s)]
    for service in gone:
        del book.services[service]


def _summary(service: str, start: int, width: int, data: dict[str, Any] | None, version: int,
             max_routes: int = 50) -> WindowSummary:
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
        routes=_busiest(data.get("routes", {}), max_routes), version=version)
