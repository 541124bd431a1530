"""JSON request bodies at a bounded cost: whole documents when they are cheap, arrays of
log lines in batches.

orjson parses a whole document in one call that holds the event loop and, for a few
megabytes of `{},{},...`, builds millions of objects (8 MB of them: 0.4 s and 235 MB).
So an array posted to `/logs` is cut into batches of about `BATCH_BYTES` at its real
item boundaries, found by one regular expression per item that skips strings and
nested containers; items past the count limit are refused before they are parsed, and
each batch is parsed by orjson, so what is accepted is exactly what orjson accepts.
Each item comes with its own JSON text, so a line is kept as sent, not re-encoded.
Webhook documents are parsed whole, after a cheap upper bound on their values.
Must never parse more than one batch, or one item of `max_item_bytes`, in one call.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import orjson

from agents.gateway.outcomes import Rejection
from agents.gateway.steps import paused_gc

__all__ = ["BATCH_BYTES", "BATCH_ITEMS", "MAX_DEPTH", "Item", "array_batches", "json_cost", "loads", "parse_json"]

# An array item: its value, and its JSON text as sent (None where it was not delimited).
Item = tuple[Any, "bytes | None"]

# One batch: at most this much JSON text or this many items, whichever comes first, so
# delimiting, parsing and handling one batch takes a few milliseconds: three large
# requests side by side still let /healthz through in well under 100 ms.
BATCH_BYTES = 64 * 1024
BATCH_ITEMS = 512
# Items nested deeper than this are delimited by orjson alone (see `_salvage`).
MAX_DEPTH = 64
_STRING = rb'"(?:[^"\\]++|\\.)*+"'
_OTHER = rb'[^"\[\]{}]++'  # commas, colons, numbers, literals, whitespace
_SCALAR = rb'[^\s,\[\]{}"]++'
_WS = re.compile(rb"\s*+")


def loads(data: bytes) -> Any:
    """orjson.loads with the cyclic GC paused: parsed JSON has no cycles, and collections
    triggered by a million new containers cost four times the parse itself."""
    with paused_gc():
        return orjson.loads(data)


def json_cost(data: bytes) -> int:
    """An upper bound on the containers and separators in a document: what parsing costs."""
    return data.count(b",") + data.count(b"[") + data.count(b"{")


def _malformed(message: str, data: bytes, pos: int) -> Rejection:
    pos = max(0, min(pos, len(data)))
    line = data.count(b"\n", 0, pos) + 1
    column = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return Rejection(400, "malformed_json",
                     f"body is not valid JSON: {message} at line {line} column {column} (char {pos})")


def parse_json(data: bytes) -> Any:
    """A whole document, or a 400 that says where it broke."""
    try:
        return loads(data)
    except orjson.JSONDecodeError as exc:
        raise _malformed(exc.msg, data, exc.pos) from None


def _item_pattern() -> re.Pattern[bytes]:
    # One item and the separator after it. Possessive quantifiers over alternatives that
    # start with different bytes: linear time, no backtracking on any input.
    container = rb"[\[{](?:" + _STRING + rb"|" + _OTHER + rb")*+[\]}]"
    for _ in range(MAX_DEPTH - 1):
        container = rb"[\[{](?:" + _STRING + rb"|" + _OTHER + rb"|" + container + rb")*+[\]}]"
    return re.compile(rb"(?s)\s*+(" + container + rb"|" + _STRING + rb"|" + _SCALAR + rb")\s*+([,\]])")


# Compiled once, when the module is imported (~30 ms), never inside a request.
_ITEM = _item_pattern()


def array_batches(data: bytes, *, max_items: int, max_item_bytes: int,
                  batch_bytes: int = BATCH_BYTES) -> Iterator[list[Item]]:
    """The items of a JSON array, batch by batch, each with its own JSON text; a body that
    is not an array is one item.

    Raises `Rejection`: 400 malformed_json (where it broke), 413 too_many_lines (before
    the items past the limit are parsed), 413 line_too_large.
    """
    pos = _WS.match(data).end()
    if data[pos:pos + 1] != b"[":
        if len(data) > max_item_bytes:
            raise _too_large(1, max_item_bytes)
        yield [(parse_json(data), None)]
        return
    pos = _WS.match(data, pos + 1).end()
    if data[pos:pos + 1] == b"]":
        _check_end(data, pos + 1)
        return
    item, count, spans = _ITEM, 0, []
    while True:
        match = item.match(data, pos, pos + max_item_bytes + 64)
        if match is None:
            if spans:
                yield _parse(data, spans)
            yield [(value, None) for value in _salvage(data, pos, count, max_items, max_item_bytes)]
            return
        count += 1
        if count > max_items:
            raise Rejection(413, "too_many_lines", f"more than {max_items} items in one request;"
                                                   " that is the limit")
        if match.end(1) - match.start(1) > max_item_bytes:
            raise _too_large(count, max_item_bytes)
        spans.append(match.span(1))
        pos = match.end()
        last = match.group(2) == b"]"
        if last or len(spans) >= BATCH_ITEMS or spans[-1][1] - spans[0][0] >= batch_bytes:
            yield _parse(data, spans)
            spans = []
        if last:
            _check_end(data, pos)
            return


def _parse(data: bytes, spans: list[tuple[int, int]]) -> list[Item]:
    start = spans[0][0]
    try:
        values = loads(b"[" + data[start:spans[-1][1]] + b"]")
    except orjson.JSONDecodeError as exc:
        raise _malformed(exc.msg, data, start + exc.pos - 1) from None
    if len(values) != len(spans):  # cannot happen for JSON orjson accepts; never trust a guess
        return [(value, None) for value in values]
    return [(value, data[a:b]) for value, (a, b) in zip(values, spans)]


def _salvage(data: bytes, pos: int, count: int, max_items: int, max_item_bytes: int) -> list[Any]:
    """What follows `pos` when the pattern found no item there: malformed, too long, too
    deep for the pattern, or (deep but short) the valid rest of the array."""
    region = data[pos:pos + max_item_bytes + 1]
    cut = pos + len(region) < len(data)
    try:
        items = loads(b"[" + region)
    except orjson.JSONDecodeError as exc:
        at = exc.pos - 1
        if cut and at >= len(region) - 8:
            raise _too_large(count + 1, max_item_bytes) from None
        raise _malformed(exc.msg, data, pos + at) from None
    if not items:  # "[1,]": nothing after the comma
        raise _malformed("trailing comma is not allowed", data, pos - 1)
    if cut:  # the array closed inside the region: only whitespace may follow it
        _check_end(data, pos + len(region))
    if count + len(items) > max_items:
        raise Rejection(413, "too_many_lines", f"more than {max_items} items in one request; that is the limit")
    return items


def _check_end(data: bytes, pos: int) -> None:
    if data[pos:].strip():
        raise _malformed("unexpected content after document", data, _WS.match(data, pos).end())


def _too_large(number: int, limit: int) -> Rejection:
    return Rejection(413, "line_too_large", f"item {number} is longer than {limit} bytes"
                                            f" (or nested deeper than {MAX_DEPTH} levels); split it")
