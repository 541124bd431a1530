"""Accounting into windows: what one source partition saw, per service and minute.

`WindowAccounts` holds the counters and findings of the windows a partition's lines fell
into since the last flush, and the partition's watermark (the largest event time or tick
seen). A line is counted in its own minute, or, when that minute already closed for this
partition (window end + allowed lateness <= watermark), in the earliest minute still open,
as `late`: so it is neither lost nor able to change a window that was already emitted.
`take()` hands the windows over as the `windows` of a partial aggregate.

A fatal error (`fatal_levels`, `fatal_patterns`) is also noted once per fingerprint and
window (`take_urgent()`), so the stage can send it ahead of its window: the fast path
of fatal errors.

Pure: no I/O, no clock; bounded (findings per window and samples are capped).
"""

from __future__ import annotations

import math
import re
from typing import Any

from agents.extract.config import ExtractConfig
from agents.extract.findings import IgnoreRules, Signal, fingerprint, sample_text
from agents.extract.formats import LEVEL_RANK

__all__ = ["ERRORS", "IGNORED", "LATE", "LINES", "ROUTE_MARGIN", "WARNINGS", "WindowAccounts"]

# Counter slots of one service-window, kept as a list for speed.
LINES, ERRORS, WARNINGS, LATE, IGNORED = range(5)


# Routes kept per service-window in one partial, and in a window book before the summary
# keeps the busiest `max_routes_per_window`: a margin, so a route that is busy overall but
# arrives late in a window on one partition still makes its summary's top list.
ROUTE_MARGIN = 4


class _Window:
    __slots__ = ("counts", "findings", "routes")

    def __init__(self) -> None:
        self.counts = [0, 0, 0, 0, 0]
        self.findings: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, list[int]] = {}  # "GET /users/{id}" -> [requests, failed]


class WindowAccounts:
    """Counters and findings per service and window start, and the watermark."""

    def __init__(self, cfg: ExtractConfig, watermark: float = -math.inf) -> None:
        self.cfg = cfg
        self.width = cfg.window_s
        self.watermark = watermark
        self._ignore = IgnoreRules(cfg)
        self._windows: dict[str, dict[int, _Window]] = {}
        self._sampled: dict[tuple[str, int], int] = {}  # (fingerprint, window) -> samples sent
        self._fatal_levels = frozenset(cfg.fatal_levels)
        self._fatal_text = re.compile("|".join(f"(?:{p})" for p in cfg.fatal_patterns), re.IGNORECASE | re.MULTILINE) \
            if cfg.fatal_patterns else None
        self._fatal_pieces = _required_pieces(cfg.fatal_patterns)
        self._urgent_noted: set[tuple[str, int]] = set()  # (fingerprint, window) already noted
        # (level, endpoint, type, template) tested, not fatal: a fingerprint's fields but
        # its service, which no pattern is tested against
        self._not_fatal: set[tuple[str, str, str, str]] = set()
        # (service, window start, the finding as counted so far): fatal findings to send ahead
        self.urgent: list[tuple[str, int, dict[str, Any]]] = []

    # --- time --------------------------------------------------------------------------

    def advance(self, at: float) -> None:
        if at > self.watermark:
            self.watermark = at

    def window_start(self, at: float) -> int:
        return int(at // self.width) * self.width

    def is_late(self, at: float) -> bool:
        width = self.width
        return (self.watermark != -math.inf
                and int(at // width) * width + width + self.cfg.allowed_lateness_s <= self.watermark)

    def earliest_open(self) -> int:
        return int((self.watermark - self.cfg.allowed_lateness_s) // self.width) * self.width

    def window_start_for(self, at: float) -> int:
        return self._placed(at)[0]

    def _placed(self, at: float) -> tuple[int, bool]:
        """The start of the window a line at `at` counts in (its own, or when that one is
        closed, the earliest open one), and whether it is late."""
        width, watermark, lateness = self.width, self.watermark, self.cfg.allowed_lateness_s
        start = int(at // width) * width
        if watermark != -math.inf and start + width + lateness <= watermark:
            return int((watermark - lateness) // width) * width, True
        return start, False

    # --- counting ----------------------------------------------------------------------

    def count_line(self, service: str, at: float) -> int:
        """One line that is only counted (no signal), at event time `at`: the start of the
        window it was counted in (the earliest open one when it is late)."""
        self.advance(at)
        counts, start = self.slot(service, at)
        counts[LINES] += 1
        return start

    def slot(self, service: str, at: float) -> tuple[list[int], int]:
        """The counters of the window a line at `at` counts in (late lines: the earliest
        open, and counted as late there), and that window's start."""
        start, late = self._placed(at)
        by_start = self._windows.get(service)
        window = by_start.get(start) if by_start is not None else None
        if window is None:
            window = self.window(service, start)
        counts = window.counts
        if late:
            counts[LATE] += 1
        return counts, start

    def window(self, service: str, start: int) -> _Window:
        by_start = self._windows.get(service)
        if by_start is None:
            by_start = self._windows[service] = {}
        window = by_start.get(start)
        if window is None:
            window = by_start[start] = _Window()
        return window

    def count_routes(self, service: str, start: int, routes: dict[str, list[int]]) -> None:
        """Add access-log requests per route ([requests, failed]) to one window. Past
        `max_routes_per_window` x ROUTE_MARGIN routes, new routes are not kept (their
        requests are still in `lines`): memory and partials stay bounded."""
        kept = self.window(service, start).routes
        room = self.cfg.max_routes_per_window * ROUTE_MARGIN
        for route, (requests, failed) in routes.items():
            counts = kept.get(route)
            if counts is None:
                if len(kept) >= room:
                    continue
                kept[route] = [requests, failed]
            else:
                counts[0] += requests
                counts[1] += failed

    def add_signal(self, signal: Signal, window_start: int, group: str | None = None) -> None:
        """Count one error under its fingerprint (`group` replaces the template in it)."""
        fp = fingerprint(signal.service, signal.endpoint, signal.error_type, group or signal.template)
        window = self.window(signal.service, window_start)
        if self._ignore.ignores(signal, fp):
            window.counts[IGNORED] += 1
            return
        window.counts[ERRORS] += 1
        finding = window.findings.get(fp)
        if finding is None:
            if len(window.findings) >= self.cfg.max_findings_per_window:
                return  # counted in errors, not kept: memory stays bounded
            finding = window.findings[fp] = {
                "fingerprint": fp, "service": signal.service, "kind": "log", "endpoint": signal.endpoint,
                "error_type": signal.error_type, "template": signal.template, "title": signal.title,
                "level": signal.level,
                "count": 1, "first_seen": signal.at, "last_seen": signal.at,
                "samples": self._sample(fp, window_start, signal.sample),
            }
            self._note_fatal(signal, fp, group, window_start, finding)
            return
        self._note_fatal(signal, fp, group, window_start, finding)
        finding["count"] += 1
        finding["first_seen"] = min(finding["first_seen"], signal.at)
        finding["last_seen"] = max(finding["last_seen"], signal.at)
        if LEVEL_RANK.get(signal.level, 0) > LEVEL_RANK.get(finding["level"], 0):
            finding["level"] = signal.level
        if len(finding["samples"]) < self.cfg.samples_per_fingerprint:
            finding["samples"].extend(self._sample(fp, window_start, signal.sample))

    def is_fatal(self, level: str, text: str) -> bool:
        """Whether an error at `level` saying `text` takes the fast path of fatal errors."""
        if level in self._fatal_levels:
            return True
        if self._fatal_text is None:
            return False
        if self._fatal_pieces is not None and text.isascii():
            lowered = text.lower()  # (?i) on ASCII text: a piece's letters in either case
            if not any(piece in lowered for piece in self._fatal_pieces):
                return False  # ~1 µs, where the patterns' search takes ~15 µs over a sample
        return self._fatal_text.search(text) is not None

    def _note_fatal(self, signal: Signal, fp: str, group: str | None, window_start: int,
                    finding: dict[str, Any]) -> None:
        """Note a fatal finding once per window: it goes out at the next flush with its
        count by then (the reference stays live until `take`)."""
        kind = (signal.level, signal.endpoint, signal.error_type, group or signal.template)
        if (fp, window_start) in self._urgent_noted or kind in self._not_fatal:
            return
        if not self.is_fatal(signal.level, "\n".join((signal.error_type, signal.headline, signal.sample[:2000]))):
            # What matches is in the fingerprinted type and template, not in masked values:
            # one test per fingerprint and level is enough, and the service, which is not
            # in the text, can be left out of it (one error shared by many services: one).
            if len(self._not_fatal) < 100_000:
                self._not_fatal.add(kind)
            return
        if len(self._urgent_noted) < 100_000:
            self._urgent_noted.add((fp, window_start))
            self.urgent.append((signal.service, window_start, finding))

    def take_urgent(self) -> list[tuple[str, int, dict[str, Any]]]:
        """The fatal findings noted since the last call, each as counted so far."""
        urgent, self.urgent = self.urgent, []
        return urgent

    def _sample(self, fp: str, window_start: int, raw: str) -> list[str]:
        # At most N samples per fingerprint and window across flushes: redaction is
        # the costly part of a finding, and the window agent keeps only N anyway.
        taken = self._sampled.get((fp, window_start), 0)
        if taken >= self.cfg.samples_per_fingerprint:
            return []
        if len(self._sampled) < 100_000:
            self._sampled[(fp, window_start)] = taken + 1
        return [sample_text(raw, self.cfg.sample_chars)]

    # --- handing over ------------------------------------------------------------------

    def take(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The windows counted since the last `take`, as a partial aggregate carries them."""
        windows = {
            service: {
                str(start): {
                    "lines": w.counts[LINES], "errors": w.counts[ERRORS], "warnings": w.counts[WARNINGS],
                    "late": w.counts[LATE], "ignored": w.counts[IGNORED], "findings": list(w.findings.values()),
                    **({"routes": {route: {"requests": n, "failed": failed} for route, (n, failed) in w.routes.items()}}
                       if w.routes else {}),
                }
                for start, w in sorted(by_start.items())
            }
            for service, by_start in self._windows.items()
        }
        self._windows = {}
        closed_before = self.earliest_open() if self.watermark != -math.inf else -math.inf
        self._sampled = {k: n for k, n in self._sampled.items() if k[1] >= closed_before}
        self._urgent_noted = {k for k in self._urgent_noted if k[1] >= closed_before}
        return windows


_META = set(".^$*+?{}[]\\|()")


def _required_piece(pattern: str) -> str | None:
    """The literal text (lower-cased) every match of `pattern` starts with after its
    anchors (`^`, `\\b`), or None when it has none of three characters or more, or an
    alternative of its own (`|`): "out of memory: kill(?:ed)? process" -> "out of memory: kill"."""
    if "|" in pattern:
        return None
    rest = pattern
    while rest.startswith(("^", "\\b")):
        rest = rest[1:] if rest[0] == "^" else rest[2:]
    length = 0
    while length < len(rest) and rest[length] not in _META:
        length += 1
    if rest[length:length + 1] in ("?", "*", "{"):  # the last character is optional
        length -= 1
    return rest[:length].lower() if length >= 3 else None


def _required_pieces(patterns: list[str]) -> tuple[str, ...] | None:
    """One piece each pattern's matches hold, or None when a pattern has none: then the
    patterns' search always runs."""
    pieces = [_required_piece(pattern) for pattern in patterns]
    return None if not pieces or None in pieces else tuple(pieces)  # type: ignore[return-value]
