"""Batch extraction of one `logs.raw` partition: records in, a partial aggregate out.

`PartitionExtractor.feed_records` takes one fetched batch. The byte-level tests of
`prefilter.py` run once over the whole batch; most lines (no error or warning word, no
open exception, a key known to name their service) are then only counted under their
service and minute (`accounts.py`): that is the fast path. Requests on it (access-log
lines, JSON records with a status) still count one request for their route, read per
batch after the loop (`_tally_requests`: a regex match or a JSON decode, never a full
parse), so `WindowSummary.routes` covers every request. A JSON warning of a service
with no open exception, under a key that names it, is counted by `_warning` from its
level, status, time and service fields alone (`_warning_fields`), as the whole parse
would count it. Where `agents/extract/_scan.c` was built, the loop over the lines that
are only counted (with a look at whether a line of a service with an open exception can
be one of its frames before the pattern is asked: `may_continue`), the tally of their
routes and the warnings' reading run in C (`count_lines`, `tally_requests`,
`json_warning`), with the Python code here as the reference the tests hold them to. The rest are decoded, parsed
(`formats.py`), classified (`lines.py`), joined into multi-line exceptions (`traces.py`)
and fingerprinted (`findings.py`). `flush` hands over what was seen since the previous
flush as a `PartialAggregate` plus the dead letters; `take_urgent` the fatal findings to
send ahead of their windows (`accounts.py`).

Time: a parsed line's event time is its own timestamp (falling back to the broker
timestamp, and not trusted when it runs more than `max_future_skew_s` ahead of it). A
line that is not parsed gets its broker timestamp shifted by the service's current lag
(event time minus broker time of its latest parsed line), and every `CALIBRATE_EVERY`-th
record is parsed anyway to keep that lag fresh, so replays of old logs land in their
own minutes. The watermark is the largest event time or tick seen.

Must never raise on any record, never import Faust or aiokafka, never read the clock.
"""

from __future__ import annotations

import math
import re
from typing import Protocol, Sequence

import orjson

from agents.extract.accounts import LINES, WARNINGS, WindowAccounts
from agents.extract.compiled import function
from agents.extract.config import ExtractConfig
from agents.extract.findings import Signal, normalise_endpoint, normalise_endpoints, sample_text
from agents.extract.formats import (LogLine, json_time_value, parse_json_object, parse_text, request_of_record,
                                    requests_of_records, shaped_request)
from agents.extract.lines import classify, request_of, split_message
from agents.extract.prefilter import (PARSE, REQUEST, TICK_PREFIX, continuation, is_candidate, may_continue,
                                      scan_flags)
from agents.extract.timestamps import parse_timestamp
from agents.extract.traces import OpenTrace, TraceJoiner, signal_of_block, starts_exception
from agents.service_name import field_service, resolve, text_service
from schemas.records import DeadLetter, PartialAggregate

__all__ = ["CALIBRATE_EVERY", "ConsumerRecordLike", "PartitionExtractor", "TICK_KEY", "is_candidate", "may_continue"]

TICK_KEY = b"__tick__"
AMBIGUOUS = ""  # a record key that does not name the service of its lines
CALIBRATE_EVERY = 256
_INDENTS = (b" ", b"\t")
# What makes `parse_text` or `text_service` read a line as logfmt or find a service in it.
_NAMED = re.compile(r"level=|msg=|lvl=|service=|app=")
# Where a JSON record may name a host or a stream of its own (formats._HOST, _STREAM).
_STREAM_NAMES = re.compile(rb"host|HOST|kubernetes|syslog|stream|container|source_type")
SOURCE_TOPIC = "logs.raw"
# The fast path's loop over lines that are only counted, compiled (`_scan.c`; None where
# not built: the loop below does it all, and stays the reference).
_compiled_count = function("count_lines")
_compiled_tally = function("tally_requests")
_compiled_warning = function("json_warning")
_compiled_fields = function("values_and_stamps")


class ConsumerRecordLike(Protocol):
    """What `feed_records` reads of a fetched record (aiokafka's `ConsumerRecord` fits)."""

    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int  # broker time, epoch milliseconds


class PartitionExtractor:
    """Pure batch extractor for one source partition. See the module docstring."""

    # JSON warnings counted without a whole parse (`_warning`); off: every one parsed,
    # the reference the tests compare with (the same partials).
    fast_warnings = True
    # Indented lines of an open exception (frames) joined without a whole parse
    # (`_frame`); off: every one parsed, the reference the tests compare with.
    fast_frames = True

    def __init__(self, partition: int, cfg: ExtractConfig, *, watermark: float = -math.inf,
                 resume_after: int = -1) -> None:
        """`watermark`/`resume_after`: from the last partial produced for this partition, if
        the shell knows it, so a restarted extractor skips what was already covered."""
        self.partition = partition
        self.cfg = cfg
        self.resume_after = resume_after
        self.accounts = WindowAccounts(cfg, watermark)
        self._joiner = TraceJoiner(cfg.trace_max_lines, cfg.max_open_traces)
        self._key_services: dict[bytes, str] = {}
        self._lag: dict[str, float] = {}  # service -> event time minus broker time
        self._dead: list[DeadLetter] = []
        self._dead_count = 0
        self._first_offset = -1
        self._last_offset = -1
        self._since_calibration = 0
        # The service, window start and raw record of each of the batch's requests that
        # were only counted, in three lists (no tuple a line: fewer objects to collect)
        self._requests: tuple[list[str], list[int], list[bytes]] = ([], [], [])

    @property
    def watermark(self) -> float:
        return self.accounts.watermark

    # --- feeding ---------------------------------------------------------------------

    def feed(self, offset: int, key: bytes | None, value: bytes | None, broker_ts: float) -> None:
        """One record (tests and tools); the worker feeds whole batches."""
        self._feed([_Record(offset, key, value)], [broker_ts])

    def feed_records(self, records: Sequence[ConsumerRecordLike]) -> None:
        """Every record of one fetched batch, in order (the production path)."""
        if not records:
            return
        if _compiled_fields is not None and type(records) is list:
            values, packed, tombstones = _compiled_fields(records)
            self._feed(records, memoryview(packed).cast("d"), values, tombstones)
        else:
            self._feed(records, [record.timestamp / 1000.0 for record in records])

    def _feed(self, records: Sequence[ConsumerRecordLike], stamps: Sequence[float],
              values: list[bytes | None] | None = None, tombstones: bool | None = None) -> None:
        """`tombstones`: whether a value is None, where the caller knows it."""
        if records[0].offset <= self.resume_after:  # just after a restart: skip what was covered
            kept = [i for i, r in enumerate(records) if r.offset > self.resume_after]
            if not kept:
                return
            records, stamps = [records[i] for i in kept], [stamps[i] for i in kept]
            values = tombstones = None
        if values is None:
            values = [record.value for record in records]
        if (None in values) if tombstones is None else tombstones:  # parsed (dead-lettered) one by one
            flags = scan_flags([v or b"" for v in values], self.cfg.max_line_bytes)
            for index, value in enumerate(values):
                if value is None:
                    flags[index] = PARSE
        else:
            flags = scan_flags(values, self.cfg.max_line_bytes)
        if self._first_offset < 0:
            self._first_offset = records[0].offset
        accounts = self.accounts
        key_services = self._key_services if self.cfg.use_record_key else {}
        open_services = self._joiner.services  # non-empty exactly while a block is open
        announcing = self._joiner.announcing
        holders = self._joiner.holders  # services with any open block
        fast_warnings = self.fast_warnings
        fast_frames = self.fast_frames
        lag = self._lag
        width = accounts.width
        lateness = self.cfg.allowed_lateness_s
        watermark = accounts.watermark
        since = self._since_calibration
        pending = self._requests
        pending_services, pending_starts, pending_values = pending
        # service -> window start -> (its counters, open until): most lines hit this cache
        slots: dict[str, dict[int, tuple[list[int], float]]] = {}
        # The compiled fast path counts runs of such lines and stops at any other record,
        # which the body below then takes, as it takes every record without it.
        counter = _compiled_count if type(records) is list and type(values) is list else None
        # It counts the JSON warnings `_warning` would count too, given what it needs.
        warn = ((holders, self.cfg.service_fields, self.cfg.max_line_bytes, self.cfg.max_future_skew_s)
                if fast_warnings and not self.cfg.service_map and _compiled_warning is not None else None)
        index, count = 0, len(records)
        while index < count:
            if counter is not None:
                index, watermark, since = counter(records, values, stamps, index, flags, key_services, lag,
                                                  open_services, announcing, continuation, slots, pending, watermark,
                                                  since, width, lateness, CALIBRATE_EVERY, warn)
                if index >= count:
                    break
            record = records[index]
            key = record.key
            service = key_services.get(key) if key is not None else None
            if service and not flags[index] & PARSE and service in lag:
                since += 1
                if since < CALIBRATE_EVERY and not (open_services and service in open_services
                                                    and (service in announcing or may_continue(values[index]))):
                    # The fast path: a line that is only counted.
                    at = stamps[index] + lag[service]
                    if at > watermark:
                        watermark = at
                    start = int(at // width) * width
                    by_start = slots.get(service)
                    cached = by_start.get(start) if by_start is not None else None
                    if cached is not None and cached[1] > watermark:
                        cached[0][LINES] += 1
                    else:
                        accounts.watermark = watermark
                        start = accounts.count_line(service, at)
                        if start + width + lateness > watermark:  # not late: its window stays open a while
                            if by_start is None:
                                by_start = slots[service] = {}
                            by_start[start] = (accounts.window(service, start).counts, start + width + lateness)
                    if flags[index] & REQUEST:
                        pending_services.append(service)
                        pending_starts.append(start)
                        pending_values.append(values[index])
                    index += 1
                    continue
                since -= 1
            accounts.watermark = watermark
            value = values[index]
            if (service and fast_warnings and service in lag and value is not None
                    and value[:1] == b"{" and self._warning(service, key, value, stamps[index])):
                since = 0
                watermark = accounts.watermark
                index += 1
                continue
            if (service and fast_frames and open_services and service in open_services and value is not None
                    and value[:1] in _INDENTS and service in lag and self._frame(service, value, stamps[index])):
                since = 0  # as `_one` after a parsed line
                watermark = accounts.watermark
                index += 1
                continue
            if self._one(record.offset, key, value, stamps[index]):
                since = 0  # a parsed line refreshes the lag: the calibration count restarts
            watermark = accounts.watermark
            index += 1
        accounts.watermark = watermark
        self._since_calibration = since
        if pending_values:
            self._count_requests()
        self._last_offset = records[-1].offset

    def _count_requests(self) -> None:
        """Requests per route of the batch's lines that were only counted (each with its
        service and the window it was counted in), read from the raw records: the whole
        batch at once (`requests_of_records`, `normalise_endpoints`; compiled, the same
        in one pass: `_scan.tally_requests`)."""
        (services, starts, values), self._requests = self._requests, ([], [], [])
        if _compiled_tally is not None:
            by_window = _compiled_tally(services, starts, values, request_of_record, normalise_endpoint)
        else:
            by_window = _tally_requests(services, starts, values)
        for (service, start), window in by_window.items():
            self.accounts.count_routes(service, start, window)

    def _warning(self, service: str, key: bytes | None, value: bytes, broker_ts: float) -> bool:
        """A JSON record that is a warning, counted as `_parse` and `_observe` would count
        it (its own time, the service's lag, its route, one warning, and the block it
        closes), without the rest of the parse; False (nothing done) for anything else.
        Only for a service known by its key, when the record's own fields name that same
        service (the caller sees to the first). A record closes the open block of its
        stream: one that may name a host or stream of its own, while its service holds a
        block, takes the whole parse; without, its stream is the service's alone."""
        cfg = self.cfg
        if len(value) > cfg.max_line_bytes or value.startswith(TICK_PREFIX):
            return False
        holding = service in self._joiner.holders
        if holding and _STREAM_NAMES.search(value) is not None:
            return False
        read = _compiled_warning(value, cfg.service_fields) if _compiled_warning is not None else None
        if read is None:  # not compiled, or not a record it reads
            read = _warning_fields(value, cfg.service_fields)
        if not read:
            return False
        route, _status, named, when = read
        if resolve(named, key, cfg.service_map) != service:
            return False
        accounts = self.accounts
        at = broker_ts + self._lag[service]
        stamp = parse_timestamp(when, broker_ts)
        if stamp is not None and stamp <= broker_ts + cfg.max_future_skew_s:
            at = stamp
            if not accounts.is_late(at):  # its lag becomes the service's, as in `_parse`
                self._lag[service] = at - broker_ts
        accounts.advance(at)
        counts, start = accounts.slot(service, at)
        counts[LINES] += 1
        if holding:
            closed = self._joiner.close((service, "", ""))
            if closed is not None:
                self._emit(closed)
        if route is not None:  # a request: its route read after the loop, as a counted line's
            services, starts, values = self._requests
            services.append(service)
            starts.append(start)
            values.append(value)
        counts[WARNINGS] += 1
        return True

    def _frame(self, service: str, value: bytes, broker_ts: float) -> bool:
        """An indented text line (a frame: "  File ...", "\tat com.shop...") of a service
        with an open exception block, known by its key: joined to that block as `_parse`
        and `_observe` would join it, without the rest of the parse; False (nothing done)
        where the whole parse could read it otherwise. Indented, it has no time or header
        of its own: `parse_text` reads it as plain text, bare, its service the key's;
        unless it looks like an access line ('] "'), logfmt or names a service (level=,
        msg=, lvl=, service=, app=), holds a line break, or the block does not take it."""
        if len(value) > self.cfg.max_line_bytes:
            return False
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return False
        text = text.rstrip("\r\n")
        if "\n" in text or "\\n" in text or '] "' in text or ("=" in text and _NAMED.search(text) is not None):
            return False
        at = broker_ts + self._lag[service]
        accounts = self.accounts
        accounts.advance(at)
        if not self._joiner.continue_block((service, "", ""), text, at, bare=True):
            return False
        counts, _start = accounts.slot(service, at)
        counts[LINES] += 1
        return True

    def _one(self, offset: int, key: bytes | None, value: bytes | None, broker_ts: float) -> bool:
        """A record that is not only counted; True when it was a log line that got parsed."""
        if value is None:
            self._dead_letter(offset, key, b"", broker_ts, "empty", "record has no value")
            return False
        if value.startswith(TICK_PREFIX):
            self._tick(offset, key, value, broker_ts)
            return False
        if len(value) > self.cfg.max_line_bytes:
            self._dead_letter(offset, key, value, broker_ts, "too_large",
                              f"record of {len(value)} bytes exceeds max_line_bytes {self.cfg.max_line_bytes}")
            return False
        self._parse(offset, key, value, broker_ts)
        return True

    def _parse(self, offset: int, key: bytes | None, value: bytes, broker_ts: float) -> None:
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
        # A line without a time of its own (a frame, say) is placed like the lines that
        # are only counted: its broker time shifted by the service's lag.
        at = broker_ts + self._lag.get(service, 0.0)
        accounts = self.accounts
        if line.timestamp is not None and line.timestamp <= broker_ts + self.cfg.max_future_skew_s:
            at = line.timestamp
            lag = at - broker_ts
            # Lines that are late are outliers, not a sign of a replay. The lag of the
            # others places the lines only counted: shipping delay (or a replay's hours,
            # or a clock's skew) taken off, so a line written at 12:00:59.8 and stored
            # at 12:01:00.3 counts in 12:00, as its own time says (with the broker time
            # alone, a steady delay of d seconds put d/60 of a minute's lines in the next).
            if not accounts.is_late(at):
                self._lag[service] = lag
        accounts.advance(at)
        # The first line of a service is always parsed: until then its lag is unknown,
        # and counting a backlog line at broker time would make all the others late.
        self._lag.setdefault(service, 0.0)
        self._observe(service, line, at)

    def _observe(self, service: str, line: LogLine, at: float) -> None:
        accounts = self.accounts
        counts, start = accounts.slot(service, at)
        counts[0] += 1
        route = None
        if line.status and (line.method or line.path):  # a request: counted under its route
            route = normalise_endpoint(line.method, line.path)
            accounts.count_routes(service, start, {route: [1, int(line.status >= 500)]})
        stream_key = (service, line.host, line.stream)
        message = line.message
        # A JSON record with its own level is an event of its own, never a frame. A line
        # is bare when it has no header of its own (text: no timestamp; JSON: no level):
        # then it may be the exception the error line before it logged.
        structured = bool(line.fields) and bool(line.level)
        bare = not line.level if line.fields else (line.timestamp is None if line.bare is None else line.bare)
        if not line.exception and ("\n" in message or "\\n" in message):
            lines = split_message(message)
            if lines is not None:
                # A whole exception shipped as one message (rsyslog startmsg.regex, Vector
                # or Fluent Bit multiline): its own lines, joined already.
                message, line.exception = lines[0], "\n".join(lines[1:])
                if not structured:
                    # A level word found anywhere in the frames ("Stack trace:") says nothing;
                    # only a level the record states in a field of its own is kept.
                    line.level = "error"
        joiner = self._joiner
        if joiner.open and not structured:
            if line.exception:
                if bare and joiner.join_exception(stream_key, [message, *line.exception.splitlines()], at):
                    return
            elif joiner.continue_block(stream_key, message, at, bare=bare):
                return
        closed = joiner.close(stream_key) if joiner.open else None
        if closed is not None:
            self._emit(closed)
        verdict = classify(line, message)
        if verdict.warning:
            counts[WARNINGS] += 1
            return
        if not verdict.level:
            return
        window_start = accounts.window_start_for(at)
        method, path = request_of(line, message)
        endpoint = f"{method}\x00{path}" if (method or path) else ""
        if line.exception:  # the whole stack arrived inside this record
            self._emit(OpenTrace(service, window_start, at, at, verdict.level,
                                 [message, *line.exception.splitlines()], line.logger, endpoint,
                                 error_class=line.error_class),
                       headline_first=not starts_exception(message))
            return
        if line.status >= 500:  # access lines never announce an exception
            accounts.add_signal(Signal.from_message(service, verdict.level, at, message, method=line.method,
                                                    path=line.path, status=line.status, logger=line.logger,
                                                    endpoint=route),
                                window_start)
            return
        # Any other error line may be followed by the exception it logged (Python's
        # logger.exception, logback, a JSON logger whose traceback comes as text): it
        # opens a block, and becomes a finding of its own only if none follows.
        block = OpenTrace(service, window_start, at, at, verdict.level, [message], line.logger, endpoint,
                          structured=structured, error_class=line.error_class)
        for evicted in joiner.start(stream_key, block):
            self._emit(evicted)

    def _emit(self, block: OpenTrace, *, headline_first: bool = False) -> None:
        if block.counted:
            return
        signal, group = signal_of_block(block, headline_first=headline_first)
        if signal is not None:  # None: an exception banner alone, nothing to count
            self.accounts.add_signal(signal, block.window_start, group=group)

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
        self.accounts.advance(tick)

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
            for block in self._joiner.close_idle(self.watermark, self.cfg.trace_idle_s, self._is_fatal_block):
                self._emit(block)
        # A JSON error record still waiting for its traceback is counted now, as itself:
        # the partial is the checkpoint, and a restart must not lose it (a text line was
        # never parsed alone and is held, as it always was). What joins it later is
        # swallowed: one logged error, one finding, typed by the exception only when
        # both came in one batch.
        for block in self._joiner.open.values():
            if block.structured and not block.counted:
                self._emit(block)
                block.counted = True
        dead, self._dead = self._dead, []
        if self._first_offset < 0:
            return None, dead
        partial = PartialAggregate(
            trace_id=f"extract|{self.partition}|{self._first_offset}|{self._last_offset}",
            source_partition=self.partition, offset_from=self._first_offset, offset_to=self._last_offset,
            watermark=self.watermark if self.watermark != -math.inf else 0.0,
            windows=self.accounts.take(), dead_letters=self._dead_count)
        self._first_offset = self._last_offset = -1
        self._dead_count = 0
        return partial, dead


    def _is_fatal_block(self, block: OpenTrace) -> bool:
        return self.accounts.is_fatal(block.level, block.lines[0])

    def take_urgent(self) -> list[tuple[str, int, dict]]:
        """Fatal findings noted since the last call: (service, window start, finding so far).
        Call it after `flush`, which completes the exceptions still open."""
        return self.accounts.take_urgent()


def _warning_fields(value: bytes, service_fields: list[str]) -> tuple[str | None, int, str, object] | None:
    """What `_warning` reads of a JSON record that is a warning and not a server error:
    its route (None when it is no request), status, the service its fields name and its
    time field's value, as the whole parse reads them; None for anything else. The
    compiled `_scan.json_warning` gives the same for the flat records it reads."""
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict:
        return None
    level, method, path, status = shaped_request(obj)
    if level != "warning" or status >= 500:  # a server error whatever its level says
        return None
    route = normalise_endpoint(method, path) if status and (method or path) else None
    return route, status, field_service(obj, service_fields), json_time_value(obj)


def _tally_requests(services: list[str], starts: list[int],
                    values: list[bytes]) -> dict[tuple[str, int], dict[str, list[int]]]:
    """{(service, window start): {route: [requests, failed]}} of the requests among
    `values`, windows and routes in the order of their first request."""
    found = requests_of_records(values)
    pairs = list(dict.fromkeys((method, path) for method, path, status in found if status and (method or path)))
    routes = dict(zip(pairs, normalise_endpoints(pairs)))
    by_window: dict[tuple[str, int], dict[str, list[int]]] = {}
    for service, start, (method, path, status) in zip(services, starts, found):
        if status and (method or path):
            window = by_window.get((service, start))
            if window is None:
                window = by_window[(service, start)] = {}
            route = routes[(method, path)]
            counts = window.get(route)
            if counts is None:
                window[route] = [1, int(status >= 500)]
            else:
                counts[0] += 1
                counts[1] += status >= 500
    return by_window


class _Record:
    __slots__ = ("key", "offset", "value")

    def __init__(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.offset, self.key, self.value = offset, key, value


def redact_payload(value: bytes, limit: int) -> str:
    """Dead-letter payload: undecodable bytes escaped, secrets masked, truncated."""
    return sample_text(value.decode("utf-8", "backslashreplace"), limit)
