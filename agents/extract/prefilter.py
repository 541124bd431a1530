"""Byte-level tests that decide which raw records must be parsed, one at a time or a batch at once.

Most log lines are neither errors nor warnings: they are only counted. These tests find
the few that may carry a signal without decoding anything. False positives only cost a
parse; a miss would lose an error, so they are generous.

`records_to_parse` applies the per-record tests of `PartitionExtractor.feed` to a whole
fetched batch: it joins the values once with NUL separators and scans that with each
pattern, so the per-record Python cost of the common case is a list index, not five
method calls (measured in ops/bench/README.md). It must select exactly the records the
per-record tests select, or more; never fewer.

Never decodes, never raises on any bytes, never reads a clock.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import Iterator, Sequence

from agents.extract.compiled import function

__all__ = ["COMPILED", "PARSE", "REQUEST", "TICK_PREFIX", "continuation", "is_candidate", "may_continue",
           "records_to_parse", "scan_batch", "scan_batch_python", "scan_flags"]

TICK_PREFIX = b'{"tick":'

# Written as one lower-case scan plus guarded checks because that measured ~5x faster
# than one case-insensitive alternation (ops/bench/extract_core.py).
# The alternatives (rr|atal|rit|anic|xception|raceback|arn|evere|merg|lert) are grouped by
# first letter: the same matches, ~18% faster to scan. Crashes said without a level word
# (the OOM killer's "out of memory: killed process", "segmentation fault", "sigsegv")
# ride on the same scan.
_CANDIDATE_WORDS = re.compile(
    rb"[efcptwsa](?:r(?:r|it|aceback)|a(?:tal|nic|rn)|xception|evere|merg|lert|egmentation|igsegv| memory: kill)")
_SERVER_ERROR = re.compile(rb'" 5\d\d ')
_NUMERIC_LEVEL = re.compile(rb'"level":\s?[4-6]\d')
_STATUS_5XX = re.compile(rb'(?i)status(?:_?code)?"?\s?[:=]\s?"?5\d\d\b')
# A stack frame with no exception line before it: still one exception.
_ORPHAN_FRAME_BYTES = re.compile(rb"\s+(?:at \S|File \")")


def is_candidate(value: bytes) -> bool:
    """Whether a raw line may carry an error or warning signal (and must be parsed)."""
    head = value[:1]
    if (head == b" " or head == b"\t") and _ORPHAN_FRAME_BYTES.match(value):
        return True
    return bool(
        _CANDIDATE_WORDS.search(value.lower())
        or (b'" 5' in value and _SERVER_ERROR.search(value))
        or (b'"level":' in value and _NUMERIC_LEVEL.search(value))
        or (b"tatus" in value and _STATUS_5XX.search(value))
        or head == b"<"  # syslog PRI carries the severity
        or (head in (b"E", b"F", b"W") and value[1:5].isdigit()))  # glog "E0911 ..."


# Raw lines that may continue an open multi-line exception (see traces.py); only
# tested for services that have one open. The frame may follow the header a shipper or
# a file puts before every line (`docker compose logs` "web-1  | ", a container
# runtime's "<time> stderr F ", a syslog header as in `agents.service_name`): a
# traceback's source lines ("    charge = pay(order)") carry nothing else that marks them.
_LINE_HEADER = (
    rb"(?:[\w.-]+\s+\| "
    rb"|<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?"
    rb"|\d{4}-\d\d-\d\dT\S+ (?:stdout|stderr) [PF]\S* "
    rb"|(?:<\d{1,3}>)?(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) \S+ [^:\[\s]+(?:\[\d+\])?: ?)?")
_CONTINUATION_BYTES = re.compile(
    _LINE_HEADER +
    rb"(?:\s|Caused by|at |#\d|goroutine |created by |\[signal |Traceback|During handling|The above"
    rb"|Stack trace|--- |\{main\}|\.\.\. |Unhandled|[\w.$/*()\[\]-]+\([^()]*\)\s*$)"
    rb'|.*"(?:log|message|msg|MESSAGE)":\s?"(?:\s|\\t|\\n)')


def may_continue(value: bytes) -> bool:
    """Whether a raw line may be a frame of an open exception (and must be parsed)."""
    return _CONTINUATION_BYTES.match(value) is not None


# The same test as a callable whose answer is truthy exactly when `may_continue` is True
# (a match or None): what the compiled counting calls, without a Python frame a line.
continuation = _CONTINUATION_BYTES.match


# The same tests over "\0v0\0v1\0...\0". None of the patterns can match a NUL, so no
# match spans two records; the ones anchored at a record's start begin with the NUL
# before it. Values that hold a NUL themselves are always parsed.
_BLOB_INSIDE = (_SERVER_ERROR, _NUMERIC_LEVEL)
# `_STATUS_5XX` on the lower-cased batch: the same matches, but a literal prefix to scan for.
_STATUS_5XX_LOWER = re.compile(rb'status(?:_?code)?"?\s?[:=]\s?"?5\d\d\b')
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_BLOB_AT_START = re.compile(
    rb"\x00(?:<|[EFW](?:\d{4}|\d{1,3}(?=\x00))|[ \t]\s*(?:at \S|File \")|" + re.escape(TICK_PREFIX) + rb")")


# Records that may be a request (`formats.request_of_record`): an access-log line (also
# wrapped in JSON, its quotes escaped), or a status of three digits in a JSON or logfmt
# field ("status", "status_code", "statusCode", nested or dotted). A superset: what it
# selects is then read exactly; a record it misses would be a request not counted.
# Two patterns, each with a literal to scan for: as one alternation, 5x slower.
_REQUEST = (re.compile(rb'\] \\?"'), re.compile(rb'status(?:_?code|Code)?"?\s*[:=]\s*"?\d{3}'))
# A JSON record (starts with "{") whose last byte is not "}": cut, or not JSON at all.
# The record is taken whole (possessive), so only its very end is tested.
_CUT_JSON = re.compile(rb"\x00\{[^\x00]*+(?<!\})")


def records_to_parse(values: Sequence[bytes], max_bytes: int) -> set[int]:
    """Indices of the records `PartitionExtractor.feed` would not just count: error or
    warning candidates, ticks, non-ASCII, unfinished JSON, and records over `max_bytes`.

    Every value must be bytes (callers send batches with a None value the slow way)."""
    return scan_batch(values, max_bytes)[0]


def scan_batch(values: Sequence[bytes], max_bytes: int) -> tuple[set[int], list[int]]:
    """`records_to_parse`, and the indices (ascending) of the records that may be requests.

    The compiled scan (`_scan.c`, the same answers, about 6x faster) when it was built
    and `LOGWARDEN_PURE_PYTHON` is not set; else `scan_batch_python`, the reference."""
    if _compiled is not None and type(values) is list:
        try:
            return _compiled(values, max_bytes)
        except TypeError:  # a value that is not bytes (a bytearray, say)
            pass
    return scan_batch_python(values, max_bytes)


PARSE, REQUEST = 1, 2  # the bits of `scan_flags`


def scan_flags(values: Sequence[bytes], max_bytes: int) -> bytearray:
    """`scan_batch` as one byte a record: PARSE set for each record to parse, REQUEST for
    each that may be a request (compiled where it was built)."""
    if _compiled_flags is not None and type(values) is list:
        try:
            return _compiled_flags(values, max_bytes)
        except TypeError:  # a value that is not bytes
            pass
    to_parse, requests = scan_batch(values, max_bytes)
    flags = bytearray(len(values))
    for index in to_parse:
        flags[index] = PARSE
    for index in requests:
        flags[index] |= REQUEST
    return flags


def scan_batch_python(values: Sequence[bytes], max_bytes: int) -> tuple[set[int], list[int]]:
    """`scan_batch` in Python: the reference the compiled scan is tested against."""
    lengths = list(map(len, values))
    starts = list(accumulate([n + 1 for n in lengths], initial=0))  # NUL before record i
    blob = b"\x00".join([b"", *values, b""])  # one copy of the batch, not three
    found: set[int] = set()
    if max(lengths, default=0) > max_bytes:
        found.update(i for i, n in enumerate(lengths) if n > max_bytes)
    if blob.count(b"\x00") > len(values) + 1:  # a NUL inside a value would cut it in two
        found.update(i for i, value in enumerate(values) if b"\x00" in value)
    lowered = blob.lower()
    found.update(_matching(_CANDIDATE_WORDS, lowered, starts))
    found.update(_matching(_STATUS_5XX_LOWER, lowered, starts))
    found.update(_matching(_BLOB_AT_START, blob, starts))
    for pattern in _BLOB_INSIDE:
        found.update(_matching(pattern, blob, starts))
    if not blob.isascii():
        found.update(_matching(_NON_ASCII, blob, starts))
    # JSON that does not end with "}" (trailing spaces included: parsed, which is only
    # slower): cut, or not JSON at all.
    found.update(_matching(_CUT_JSON, blob, starts))
    requests = list(_matching(_REQUEST[0], blob, starts))
    more = list(_matching(_REQUEST[1], blob, starts))
    return found, sorted({*requests, *more}) if more else requests


def _matching(pattern: re.Pattern[bytes], blob: bytes, starts: list[int]) -> Iterator[int]:
    """Index of every record with a match, each once: after a hit, resume at the next record."""
    search = pattern.search
    last = len(starts) - 1  # starts[last] is the closing NUL
    position = 0
    while True:
        match = search(blob, position)
        if match is None:
            return
        index = bisect_right(starts, match.start()) - 1
        if index >= last:
            return
        yield index
        position = starts[index + 1]


_compiled = function("scan_batch")
_compiled_flags = function("scan_flags")
COMPILED = _compiled is not None  # whether the compiled scan runs (for the benchmarks' output)
