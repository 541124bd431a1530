"""JSON arrays of log lines cut into batches: exactly what orjson accepts, at a bounded cost."""

from __future__ import annotations

import json
import time
import tracemalloc

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agents.gateway.jsonbody import MAX_DEPTH, array_batches
from agents.gateway.outcomes import Rejection

BIG = 10**9
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab,[]{}":\\ é\n\t/'), max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)
# Bytes that make JSON bytes interesting: structure, quotes, escapes, whitespace, junk.
MUTATIONS = st.sampled_from([b",", b"[", b"]", b"{", b"}", b'"', b"\\", b" ", b"\n", b":", b"x", b"1", b"\xff"])


def _items(data: bytes, batch_bytes: int = 8, **limits) -> list:
    out = []
    for batch in array_batches(data, max_items=limits.get("max_items", BIG),
                               max_item_bytes=limits.get("max_item_bytes", BIG), batch_bytes=batch_bytes):
        for value, text in batch:
            assert text is None or orjson.loads(text) == value  # each item's own JSON text
            out.append(value)
    return out


@settings(max_examples=250, deadline=None)
@given(items=st.lists(json_values, max_size=12), pretty=st.booleans(), batch_bytes=st.integers(1, 64))
def test_batches_hold_exactly_the_items_orjson_reads(items, pretty, batch_bytes):
    data = json.dumps(items, indent=2 if pretty else None, ensure_ascii=False).encode()
    assert _items(data, batch_bytes) == orjson.loads(data)


@settings(max_examples=400, deadline=None)
@given(items=st.lists(json_values, min_size=1, max_size=8), where=st.floats(0, 1), byte=MUTATIONS,
       replace=st.booleans())
def test_a_damaged_array_is_refused_exactly_when_orjson_refuses_it(items, where, byte, replace):
    data = json.dumps(items, ensure_ascii=False).encode()
    at = int(where * (len(data) - 1))
    damaged = data[:at] + byte + data[at + (1 if replace else 0):]
    try:
        expected = orjson.loads(damaged)
    except orjson.JSONDecodeError:
        with pytest.raises(Rejection) as refused:
            _items(damaged)
        assert (refused.value.status, refused.value.reason) == (400, "malformed_json")
        return
    assume(isinstance(expected, list))
    assert _items(damaged) == expected


@pytest.mark.parametrize("body, message", [
    (b"[1,]", "trailing comma"), (b"[,1]", "expected a JSON value"), (b"[1 2]", "expected ','"),
    (b"[1] x", "after document"), (b"[NaN]", "expected a JSON value"), (b"[", "end of data"),
    (b'[{"a": 1}{"b": 2}]', "expected ','"), (b'["\xff"]', "UTF-8"), (b"[" * 3000 + b"]" * 3000, "depth limit"),
])
def test_malformed_arrays_say_where_they_broke(body, message):
    with pytest.raises(Rejection) as refused:
        _items(body)
    assert refused.value.reason == "malformed_json" and message in refused.value.message
    assert "(char " in refused.value.message


def test_empty_arrays_objects_and_deep_items():
    assert _items(b" [ ] ") == []
    assert _items(b'{"service": "a"}') == [{"service": "a"}]
    deep = b"[" * (MAX_DEPTH + 10) + b"]" * (MAX_DEPTH + 10)  # deeper than the pattern, short: orjson reads it
    body = b'[1, "a", ' + deep + b", 2]"
    assert _items(body) == orjson.loads(body)


def test_an_item_over_the_size_limit_is_413_before_it_is_parsed():
    body = orjson.dumps(["short", "x" * 5000, "short"])
    with pytest.raises(Rejection) as refused:
        _items(body, max_item_bytes=1000)
    assert (refused.value.status, refused.value.reason) == (413, "line_too_large")
    assert "item 2" in refused.value.message


def test_200k_empty_objects_are_refused_after_the_limit_with_little_memory_and_time():
    # The fuzzing case: 600 KB of `{}` took 937 MB and held /healthz for 4.6 s.
    body = b"[" + b",".join([b"{}"] * 200_000) + b"]"
    started = time.process_time()
    with pytest.raises(Rejection) as refused:
        _items(body, batch_bytes=256 * 1024, max_items=100_000)
    cpu = time.process_time() - started
    assert (refused.value.status, refused.value.reason) == (413, "too_many_lines")
    assert cpu < 1.0, cpu  # ~0.1 s
    tracemalloc.start()
    with pytest.raises(Rejection):
        _items(body, batch_bytes=256 * 1024, max_items=100_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, peak
