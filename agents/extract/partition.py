"""Batch extraction of one `logs.raw` partition: records in, a partial aggregate out.

`PartitionExtractor.feed` takes one record and must stay cheap: a byte-level test
(prefilter.py) lets most lines (no error or warning word, no open exception) through
after being counted under their service and minute; only candidate lines are decoded,
parsed, joined into exceptions and fingerprinted. `feed_records` does the same for a
whole fetched batch, with the byte-level tests run once per batch: that is what the
worker calls. `flush` hands over what was seen since the previous flush as a
`PartialAggregate` plus the dead letters.

Time: a parsed line's event time is its own timestamp (falling back to the broker
timestamp, and not trusted when it runs more than `max_future_skew_s` ahead of it). A
line that is not parsed gets its broker timestamp shifted by the service's current lag
(event time minus broker time of its latest parsed line), and every `CALIBRATE_EVERY`-th
record is parsed anyway to keep that lag fresh, so replays of old logs land in their
own minutes. The watermark is the largest event time or tick seen.

Late lines: a line whose window already closed for this partition (window end +
allowed lateness <= watermark) is counted in the earliest window still open, in
`lines` and `late` (and, if it is an error, in `errors` and its finding), so it is
neither lost nor able to change a window that was already emitted.

Must never raise on any record, never import Faust or aiokafka, never read the clock.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Protocol, Sequence

import orjson

from agents.extract.config import ExtractConfig
from agents.extract.findings import IgnoreRules, Signal, fingerprint, normalise_endpoint, sample_text
from agents.extract.formats import LEVEL_RANK, LogLine, parse_json_object, parse_text
from agents.extract.prefilter import TICK_PREFIX, is_candidate, may_continue, records_to_parse
from agents.extract.templates import template_id
from agents.service_name import resolve, text_service
from agents.extract.traces import (OpenTrace, TraceJoiner, describe_trace, exception_template, is_continuation,
                                   starts_exception)
from schemas.records import DeadLetter, PartialAggregate

__all__ = ["CALIBRATE_EVERY", "ConsumerRecordLike", "PartitionExtractor", "TICK_KEY", "is_candidate", "may_continue"]

TICK_KEY = b"__tick__"
AMBIGUOUS = ""  # a record key whose lines name more than one service
CALIBRATE_EVERY = 256
SOURCE_TOPIC = "logs.raw"

# Level words in a line without a level: upper case, or followed by ":"/"=" ("error:
# connection refused"). A bare "no exception" in prose is not an error.
_ERROR_WORDS = re.compile(
    r"\b(?:ERROR|FATAL|CRITICAL|PANIC|EXCEPTION|SEGFAULT)\b|(?i:\b(?:error|exception|fatal|panic|critical)\s?[:=])"
    r"|(?i:^(?:error|fatal|exception)\b)")
# A stack frame with no exception line before it (the head was lost or is prose):
# still one exception.
_ORPHAN_FRAME = re.compile(r"\s+(?:at \S|File \")")
# "POST /v1/payments/4548 failed": the request an error line or exception headline names.
_REQUEST_IN_TEXT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^\s\"'?#]*)")
_WARNING_WORDS = re.compile(r"\bWARN(?:ING)?\b|(?i:\bwarn(?:ing)?\s?[:=])|(?i:^warn(?:ing)?\b)")
_EXCEPTION_HEAD = re.compile(
    r"(?:Traceback \(most recent call last\)|Exception in thread |\bpanic: |Unhandled [Ee]xception"
    r"|(?:[A-Za-z_$][\w$]*(?:\.|::))*[A-Z][\w$]*(?:Exception|Error)(?::|$|\s\())")

class ConsumerRecordLike(Protocol):
    """What `feed_records` reads of a fetched record (aiokafka's `ConsumerRecord` fits)."""

    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int  # broker time, epoch milliseconds


# Counter slots of one service-window, kept as a list for speed.
LINES, ERRORS, WARNINGS, LATE, IGNORED = range(5)


class _Window:
    __slots__ = ("counts", "findings")

    def __init__(self) -> None:
        self.counts = [0, 0, 0, 0, 0]
        self.findings: dict[str, dict[str, Any]] = {}


class PartitionExtractor:
    """Pure batch extractor for one source partition. See the module docstring."""

    def __init__(self, partition: int, cfg: ExtractConfig, *, watermark: float = -math.inf,
                 resume_after: int = -1) -> None:
        """`watermark`/`resume_after`: from the last partial produced for this partition, if
        the shell knows it, so a restarted extractor skips what was already covered."""
        self.partition = partition
        self.cfg = cfg
        self.watermark = watermark
        self.resume_after = resume_after
        self._width = cfg.window_s
        self._ignore = IgnoreRules(cfg)
        self._joiner = TraceJoiner(cfg.trace_max_lines, cfg.max_open_traces)
        self._key_services: dict[bytes, str] = {}
        self._lag: dict[str, float] = {}  # service -> event time minus broker time
        self._windows: dict[str, dict[int, _Window]] = {}
        self._dead: list[DeadLetter] = []
        self._dead_count = 0
        self._first_offset = -1
        self._last_offset = -1
        self._since_calibration = 0
        # service -> (window start, its counters, closes at): most lines hit this cache
        self._fast_slots: dict[str, tuple[int, list[int], float]] = {}
        self._sampled: dict[tuple[str, int], int] = {}  # (fingerprint, window) -> samples sent

    # --- feeding ---------------------------------------------------------------------

    def feed(self, offset: int, key: bytes | None, value: bytes | None, broker_ts: float) -> None:
        if offset <= self.resume_after:
            return
        if self._first_offset < 0:
            self._first_offset = offset
        self._last_offset = offset
        if value is None:
            self._dead_letter(offset, key, b"", broker_ts, "empty", "record has no value")
            return
        if value.startswith(TICK_PREFIX):
            self._tick(offset, key, value, broker_ts)
            return
        size = len(value)
        if size > self.cfg.max_line_bytes:
            self._dead_letter(offset, key, value, broker_ts, "too_large",
                              f"record of {size} bytes exceeds max_line_bytes {self.cfg.max_line_bytes}")
            return
        # Only a key whose parsed lines named no other service is trusted for counting
        # the lines that are not parsed (see `_learn_key`).
        service = self._key_services.get(key) if key is not None and self.cfg.use_record_key else None
        self._since_calibration += 1
        if (service is not None and service in self._lag and self._since_calibration < CALIBRATE_EVERY
                and (not self._joiner.open or service not in self._joiner.services or not may_continue(value))
                and value.isascii() and not is_candidate(value)
                and (value[:1] != b"{" or value.rstrip().endswith(b"}"))):
            self._count_fast(service, broker_ts)
            return
        self._since_calibration = 0
        self._feed_parsed(offset, key, value, broker_ts)

    def feed_many(self, records: Iterable[tuple[int, bytes | None, bytes | None, float]]) -> None:
        """`feed` for each (offset, key, value, broker_ts), with the common case inlined:
        a keyed, non-candidate line costs about half of a `feed` call (measured)."""
        feed = self.feed
        count_fast = self._count_fast
        key_services = self._key_services
        joiner = self._joiner
        max_bytes = self.cfg.max_line_bytes
        resume_after = self.resume_after
        use_key = self.cfg.use_record_key
        tick_prefix = TICK_PREFIX
        for offset, key, value, broker_ts in records:
            if (value is None or key is None or not use_key or offset <= resume_after
                    or len(value) > max_bytes or value.startswith(tick_prefix)):
                feed(offset, key, value, broker_ts)
                continue
            service = key_services.get(key)
            self._since_calibration += 1
            if (service is None or service not in self._lag or self._since_calibration >= CALIBRATE_EVERY
                    or (joiner.open and service in joiner.services and may_continue(value)) or not value.isascii()
                    or is_candidate(value) or (value[:1] == b"{" and not value.rstrip().endswith(b"}"))):
                self._since_calibration -= 1  # feed counts it again
                feed(offset, key, value, broker_ts)
                continue
            if self._first_offset < 0:
                self._first_offset = offset
            self._last_offset = offset
            count_fast(service, broker_ts)

    def feed_records(self, records: Sequence[ConsumerRecordLike]) -> None:
        """`feed` for each record of one fetched batch, in order, with the same result.

        The byte-level tests run once over the whole batch (`records_to_parse`); what is
        left per record is a key lookup and a counter. This is the production path."""
        if not records:
            return
        values = [record.value for record in records]
        if records[0].offset <= self.resume_after or None in values:
            # Just after a restart, or tombstones: rare, take the general path.
            self.feed_many((r.offset, r.key, r.value, r.timestamp / 1000.0) for r in records)
            return
        to_parse = records_to_parse(values, self.cfg.max_line_bytes)
        feed = self.feed
        key_services = self._key_services
        open_services = self._joiner.services  # non-empty exactly while a block is open
        lag = self._lag
        fast_slots = self._fast_slots
        use_key = self.cfg.use_record_key
        width = self._width
        if self._first_offset < 0:
            self._first_offset = records[0].offset
        watermark = self.watermark
        since = self._since_calibration
        for index, record in enumerate(records):
            key = record.key
            service = key_services.get(key) if (use_key and key is not None) else None
            if service is not None and index not in to_parse and service in lag:
                since += 1
                if since < CALIBRATE_EVERY and not (open_services and service in open_services
                                                    and may_continue(values[index])):
                    # _count_fast, inlined: this line runs for almost every record.
                    at = record.timestamp / 1000.0 + lag[service]
                    if at > watermark:
                        watermark = at
                    start = int(at // width) * width
                    cached = fast_slots.get(service)
                    if cached is not None and cached[0] == start and cached[2] > watermark:
                        cached[1][LINES] += 1
                        continue
                    self.watermark = watermark
                    self._count_fast(service, record.timestamp / 1000.0)
                    continue
                since -= 1  # feed counts it again
            self.watermark, self._since_calibration = watermark, since
            feed(record.offset, key, record.value, record.timestamp / 1000.0)
            watermark, since = self.watermark, self._since_calibration
        self.watermark, self._since_calibration = watermark, since
        self._last_offset = records[-1].offset

    def _count_fast(self, service: str, broker_ts: float) -> None:
        at = broker_ts + self._lag.get(service, 0.0)
        if at > self.watermark:
            self.watermark = at
        start = int(at // self._width) * self._width
        cached = self._fast_slots.get(service)
        if cached is not None and cached[0] == start and cached[2] > self.watermark:
            cached[1][LINES] += 1
            return
        counts = self._slot(service, at)
        counts[LINES] += 1
        open_until = start + self._width + self.cfg.allowed_lateness_s
        if open_until > self.watermark:
            self._fast_slots[service] = (start, counts, open_until)

    def _feed_parsed(self, offset: int, key: bytes | None, value: bytes, broker_ts: float) -> None:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._dead_letter(offset, key, value, broker_ts, "invalid_utf8", f"invalid UTF-8 at byte {exc.start}")
            return
        text = text.rstrip("\r\n")
        line: LogLine
        if text[:1] == "{":
            try:
                obj = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                self._dead_letter(offset, key, value, broker_ts, "invalid_json", f"invalid JSON: {exc}"[:200])
                return
            if not isinstance(obj, dict):
                self._dead_letter(offset, key, value, broker_ts, "invalid_json", "JSON value is not an object")
                return
            line = parse_json_object(obj, broker_ts, self.cfg.service_fields)
        else:
            line = parse_text(text, broker_ts)
            if not line.service:
                line.service = text_service(text)
        service = resolve(line.service, key if self.cfg.use_record_key else None, self.cfg.service_map)
        if key is not None and self.cfg.use_record_key:
            self._learn_key(key, service)
        at = broker_ts
        if line.timestamp is not None and line.timestamp <= broker_ts + self.cfg.max_future_skew_s:
            at = line.timestamp
            lag = at - broker_ts
            # Lines that are late are outliers, not a sign of a replay; a lag within the
            # allowed lateness is shipping delay, for which the broker time is as good.
            if not self._is_late(at):
                self._lag[service] = lag if abs(lag) > self.cfg.allowed_lateness_s else 0.0
        if at > self.watermark:
            self.watermark = at
        # The first line of a service is always parsed: until then its lag is unknown,
        # and counting a backlog line at broker time would make all the others late.
        self._lag.setdefault(service, 0.0)
        self._observe(service, line, at)

    def _observe(self, service: str, line: LogLine, at: float) -> None:
        counts = self._slot(service, at)
        counts[LINES] += 1
        stream_key = (service, line.host, line.stream)
        message = line.message
        if not line.exception and ("\n" in message or "\\n" in message):
            lines = split_message(message)
            if lines is not None:
                # A whole exception shipped as one message (rsyslog startmsg.regex, Vector
                # or Fluent Bit multiline): its own lines, joined already.
                message, line.exception = lines[0], "\n".join(lines[1:])
                if not (line.fields and line.level):
                    # A level word found anywhere in the frames ("Stack trace:") says nothing;
                    # only a level the record states in a field of its own is kept.
                    line.level = "error"
        # A JSON record with its own level is an event of its own, never a frame.
        structured = bool(line.fields) and bool(line.level)
        if (self._joiner.open and not structured
                and self._joiner.continue_block(stream_key, message, at, bare=line.timestamp is None)):
            return
        closed = self._joiner.close(stream_key) if self._joiner.open else None
        if closed is not None:
            self._emit_trace(closed)
        level = "error" if line.status >= 500 else (line.level or _infer_level(message))
        rank = LEVEL_RANK.get(level, 0)
        if rank == LEVEL_RANK["warning"]:
            counts[WARNINGS] += 1
            return
        if rank < LEVEL_RANK["error"] and not (line.level == "" and (
                _EXCEPTION_HEAD.search(message, 0, 300) or _ORPHAN_FRAME.match(message))):
            return
        level = level if rank >= LEVEL_RANK["error"] else "error"
        if line.exception:  # the whole stack arrived inside this record
            method, path = _request_of(line, message)
            self._emit_trace(OpenTrace(service, self._window_start_for(at), at, at, level,
                                       [message, *line.exception.splitlines()], line.logger,
                                       f"{method}\x00{path}" if (method or path) else ""),
                             headline_first=not starts_exception(message))
            return
        if line.status >= 500 or structured:  # access lines and structured records never continue
            signal = Signal.from_message(service, level, at, message, method=line.method, path=line.path,
                                         status=line.status, logger=line.logger)
            self._add_signal(signal, self._window_start_for(at))
            return
        method, path = _request_of(line, message)
        endpoint_hint = f"{method}\x00{path}" if (method or path) else ""
        block = OpenTrace(service, self._window_start_for(at), at, at, level, [message], line.logger, endpoint_hint)
        for evicted in self._joiner.start(stream_key, block):
            self._emit_trace(evicted)

    # --- findings ----------------------------------------------------------------------

    def _emit_trace(self, block: OpenTrace, *, headline_first: bool = False) -> None:
        method, _, path = block.endpoint.partition("\x00")
        head = block.lines[0]
        if len(block.lines) == 1:
            signal = Signal.from_message(block.service, block.level, block.first_seen, head,
                                         method=method, path=path, logger=block.logger)
            self._add_signal(signal, block.window_start)
            return
        text = "\n".join(block.lines)
        info = describe_trace("\n".join(block.lines[1:]) if headline_first or block.headline else text)
        if not info.error_type:
            whole = describe_trace(text)  # the headline itself may name what was thrown
            if whole.error_type or not info.frames:
                info = whole
        template = exception_template(info.error_type, info.headline or head)
        signal = Signal(block.service, normalise_endpoint(method, path) if (method or path) else "",
                        info.error_type or template_id(template), template, block.level, block.first_seen,
                        text, block.logger)
        # Exceptions group by type and top frames: their messages carry values.
        group = f"{signal.error_type} @ " + " < ".join(info.frames) if info.frames else template
        self._add_signal(signal, block.window_start, group=group)

    def _add_signal(self, signal: Signal, window_start: int, group: str | None = None) -> None:
        fp = fingerprint(signal.service, signal.endpoint, signal.error_type, group or signal.template)
        window = self._window(signal.service, window_start)
        if self._ignore.ignores(signal, fp):
            window.counts[IGNORED] += 1
            return
        window.counts[ERRORS] += 1
        finding = window.findings.get(fp)
        if finding is None:
            if len(window.findings) >= self.cfg.max_findings_per_window:
                return  # counted in errors, not kept: memory stays bounded
            window.findings[fp] = {
                "fingerprint": fp, "service": signal.service, "kind": "log", "endpoint": signal.endpoint,
                "error_type": signal.error_type, "template": signal.template, "level": signal.level,
                "count": 1, "first_seen": signal.at, "last_seen": signal.at,
                "samples": self._sample(fp, window_start, signal.sample),
            }
            return
        finding["count"] += 1
        finding["first_seen"] = min(finding["first_seen"], signal.at)
        finding["last_seen"] = max(finding["last_seen"], signal.at)
        if LEVEL_RANK.get(signal.level, 0) > LEVEL_RANK.get(finding["level"], 0):
            finding["level"] = signal.level
        if len(finding["samples"]) < self.cfg.samples_per_fingerprint:
            finding["samples"].extend(self._sample(fp, window_start, signal.sample))

    def _sample(self, fp: str, window_start: int, raw: str) -> list[str]:
        # At most N samples per fingerprint and window across flushes: redaction is
        # the costly part of a finding, and the window agent keeps only N anyway.
        taken = self._sampled.get((fp, window_start), 0)
        if taken >= self.cfg.samples_per_fingerprint:
            return []
        if len(self._sampled) < 100_000:
            self._sampled[(fp, window_start)] = taken + 1
        return [sample_text(raw, self.cfg.sample_chars)]

    # --- windows -----------------------------------------------------------------------

    def _window_start(self, at: float) -> int:
        return int(at // self._width) * self._width

    def _is_late(self, at: float) -> bool:
        return (self.watermark != -math.inf
                and self._window_start(at) + self._width + self.cfg.allowed_lateness_s <= self.watermark)

    def _earliest_open(self) -> int:
        return int((self.watermark - self.cfg.allowed_lateness_s) // self._width) * self._width

    def _window_start_for(self, at: float) -> int:
        return self._earliest_open() if self._is_late(at) else self._window_start(at)

    def _slot(self, service: str, at: float) -> list[int]:
        start = self._window_start(at)
        late = self._is_late(at)
        if late:
            start = self._earliest_open()
        counts = self._window(service, start).counts
        if late:
            counts[LATE] += 1
        return counts

    def _window(self, service: str, start: int) -> _Window:
        by_start = self._windows.get(service)
        if by_start is None:
            by_start = self._windows[service] = {}
        window = by_start.get(start)
        if window is None:
            window = by_start[start] = _Window()
        return window

    # --- services, ticks, dead letters -----------------------------------------------

    def _learn_key(self, key: bytes, service: str) -> None:
        """Remember whether a record key names the service of its lines.

        The service of a line is what the line itself names (`agents.service_name`); the
        key only stands in for it on lines that are counted without being parsed, and
        only when it is that same name (shippers that key by service). A key that stands
        for something else (a host name, `unknown`, one key for a whole shipper) is
        marked (""): its lines are always parsed."""
        if key in self._key_services or len(self._key_services) >= 100_000:
            if self._key_services.get(key) and self._key_services[key] != service:
                self._key_services[key] = AMBIGUOUS
            return
        named = resolve("", key, self.cfg.service_map)
        self._key_services[key] = service if named == service else AMBIGUOUS

    def _tick(self, offset: int, key: bytes | None, value: bytes, broker_ts: float) -> None:
        try:
            tick = float(orjson.loads(value)["tick"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self._dead_letter(offset, key, value, broker_ts, "invalid_tick", "tick record without a number")
            return
        if tick > self.watermark:
            self.watermark = tick

    def _dead_letter(self, offset: int, key: bytes | None, value: bytes, broker_ts: float,
                     reason: str, error: str) -> None:
        self._dead_count += 1
        limit = self.cfg.dead_letter_payload_chars
        self._dead.append(DeadLetter(
            source_topic=SOURCE_TOPIC, partition=self.partition, offset=offset,
            key=(key or b"").decode("utf-8", "backslashreplace")[:200], stage="extract", reason=reason,
            error=error, payload=redact_payload(value[: limit * 4], limit), payload_bytes=len(value), at=broker_ts))

    # --- flushing ----------------------------------------------------------------------

    def flush(self) -> tuple[PartialAggregate | None, list[DeadLetter]]:
        """What was fed since the last flush; (None, []) when nothing was fed."""
        if self.watermark != -math.inf:
            for block in self._joiner.close_idle(self.watermark, self.cfg.trace_idle_s):
                self._emit_trace(block)
        dead, self._dead = self._dead, []
        if self._first_offset < 0:
            return None, dead
        windows: dict[str, dict[str, dict[str, Any]]] = {}
        for service, by_start in self._windows.items():
            windows[service] = {
                str(start): {
                    "lines": w.counts[LINES], "errors": w.counts[ERRORS], "warnings": w.counts[WARNINGS],
                    "late": w.counts[LATE], "ignored": w.counts[IGNORED], "findings": list(w.findings.values()),
                }
                for start, w in sorted(by_start.items())
            }
        partial = PartialAggregate(
            trace_id=f"extract|{self.partition}|{self._first_offset}|{self._last_offset}",
            source_partition=self.partition, offset_from=self._first_offset, offset_to=self._last_offset,
            watermark=self.watermark if self.watermark != -math.inf else 0.0,
            windows=windows, dead_letters=self._dead_count)
        self._windows = {}
        self._fast_slots = {}
        closed_before = self._earliest_open() if self.watermark != -math.inf else -math.inf
        self._sampled = {k: n for k, n in self._sampled.items() if k[1] >= closed_before}
        self._first_offset = self._last_offset = -1
        self._dead_count = 0
        return partial, dead


def _request_of(line: LogLine, message: str) -> tuple[str, str]:
    """The request a line is about: its own fields, else "POST /v1/x" named in its text."""
    if line.method or line.path:
        return line.method, line.path
    request = _REQUEST_IN_TEXT.search(message, 0, 300)
    return request.groups() if request else ("", "")


def split_message(message: str) -> list[str] | None:
    """The lines of a message that carries a whole exception (real or escaped newlines),
    or None when it is not one (a multi-line message that is prose, say)."""
    escaped = "\n" not in message
    parts = message.split("\\n" if escaped else "\n")
    parts = [p.rstrip("\r") for p in parts]
    while parts and not parts[-1].strip():
        parts.pop()
    if len(parts) < 2:
        return None
    if escaped:
        parts = [p.replace("\\t", "\t") for p in parts]
    rest = parts[1:]
    if starts_exception(parts[0]) or any(starts_exception(p) for p in rest[:3]) \
            or sum(1 for p in rest if is_continuation(p, parts[:1])) >= max(1, len(rest) // 2):
        return parts
    return None


def _infer_level(message: str) -> str:
    if _ERROR_WORDS.search(message, 0, 400):
        return "error"
    if _WARNING_WORDS.search(message, 0, 400):
        return "warning"
    return ""


def redact_payload(value: bytes, limit: int) -> str:
    """Dead-letter payload: undecodable bytes escaped, secrets masked, truncated."""
    return sample_text(value.decode("utf-8", "backslashreplace"), limit)
