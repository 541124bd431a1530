"""The request fields of flat JSON records read in C (`_scan.requests`) are what the
reference reads (`formats.request_of_record`: orjson, then the field rules of
`parse_json_object`), wherever C answers; where it does not, Python reads the record.

Compared on records built from the fragments the rules look at (every field name,
every level word, numbers at the edges, escapes, duplicates, nesting, broken JSON), on
the real JSON samples of the test data and on the benchmark's JSON lines, with the field
names and level words held equal to formats.py. No broker."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.extract import formats
from ops.bench import loadgen

try:
    from agents.extract import _scan
except ImportError:  # not built: no C compiler when the project was installed
    _scan = None

pytestmark = pytest.mark.skipif(_scan is None, reason="agents.extract._scan not built (no C compiler)")
DATA = Path(__file__).resolve().parents[2] / "data"


def _read(value: bytes):
    return _scan.requests([value])[0]


def test_the_field_names_and_level_words_are_those_of_formats():
    flat = [[name for name, _head in paths.entries]
            for paths in (formats._LEVEL, formats._STATUS, formats._METHOD, formats._PATH, formats._PLAIN_PATH,
                          formats._TIME)]
    assert [list(names) for names in _scan.json_fields()] == flat
    assert sorted(_scan.level_words()) == sorted(formats._LEVEL_WORDS)


# Documented shapes: pino (numeric level 30 = info, `req.method`/`res.statusCode` flat
# here), python-json-logger, ECS flat keys, a status as a string.
KNOWN = [
    (b'{"level":30,"time":1700000000000,"msg":"request completed","req.method":"GET","req.url":"/users/42",'
     b'"res.statusCode":200}', ("GET", "/users/42", 200)),
    (b'{"levelname": "WARNING", "message": "slow", "method": "post", "path": "/v1/orders/9", "status_code": 201}',
     ("POST", "/v1/orders/9", 201)),
    (b'{"log.level":"info","http.request.method":"DELETE","url.path":"/carts/7","http.response.status_code":204}',
     ("DELETE", "/carts/7", 204)),
    (b'{"level": "info", "status": "404", "request_uri": "/missing"}', ("", "/missing", 404)),
    (b'{"level": "info", "path": "/usr/lib/python3/glogging.py"}', ("", "", 0)),  # a file's path: no request
    (b'{"level": "info", "status": 700, "path": "/a"}', ("", "", 0)),  # no such status, no method: no request path
    (b'{"level": "info", "status": true, "path": "/a"}', ("", "", 0)),
    (b'{"level": "info", "status": 200.0, "uri": "/a"}', ("", "", 0)),  # a float is not a status
    (b'{"level": " Err ", "status": 503, "uri": "/a"}', ("", "/a", 503)),
    (b'{"level": "40", "status": 200, "path": "/a", "path": "/b"}', ("", "/b", 200)),  # the last of repeated keys
    (b'{"level": null, "lvl": "info", "status": "", "status_code": 500, "method": "", "uri": "/x"}', ("", "/x", 500)),
    (b'{"level":"info","status":200,"path":"/a"}\n', ("", "/a", 200)),
]


@pytest.mark.parametrize("value, expected", KNOWN)
def test_known_records_read_in_c_as_the_shippers_mean_them(value, expected):
    assert _read(value) == expected
    assert formats.request_of_record(value) == expected


# Records C leaves to Python: each would need more than a flat reading.
UNDECIDED = [
    b'{"status": 200, "path": "/no/level"}',  # no level: read as a wrapped line
    b'{"level": "verbose-ish", "status": 200}',  # not a level word: no level
    b'{"level": "info", "http": {"method": "GET"}, "status": 200}',  # nested
    b'{"level": "info", "tags": [1, 2], "status": 200}',
    b'{"level": "info", "status": 200, "path": "/caf\\u00e9"}',  # an escape in a value it uses
    b'{"lev\\u0065l": "info", "status": 200}',  # an escape in a key
    b'{"level": "info", "status": 200, "path": "/caf\xc3\xa9"}',  # not ASCII
    b'{"level": "info", "status": 2e2}',  # an exponent
    b'{"level": 30.5, "status": 200}',  # a fraction where a level is read
    b'{"level": "info", "status": 200,}',  # not JSON
    b'{"level": "info", "status": 200} x',
    b'{"level": "info", "status": 01}',
    b'{"level": "info", "method": 7, "status": 200}',  # a number where text is read
    b'{"level": "info", "x": "\\ud800", "status": 200}',  # a lone surrogate
    b'{"level": "info", "x": "tab\there", "status": 200}',  # a raw control character
    b'{}',
]


@pytest.mark.parametrize("value", UNDECIDED)
def test_records_a_flat_reading_cannot_settle_are_left_to_python(value):
    assert _read(value) is None


_NAMES = sorted({name for paths in (formats._LEVEL, formats._STATUS, formats._METHOD, formats._PATH)
                 for name, _head in paths.entries} | {"message", "msg", "time", "service", "ts", "x"})
_LEVELS = sorted(formats._LEVEL_WORDS) + ["", " ", "INFO", " warn ", "Error", "bogus", "30", "7", "8", "99999",
                                          "0" * 20, "12345678901234567890"]
_SCALARS = st.one_of(
    st.sampled_from(_LEVELS),
    st.sampled_from(["GET", "post", "Patch", "", "/users/42", "/a?b=1", "/usr/lib/x.py", "200", "404", "20", "2000",
                     "abc", r'a\"b', r"\u00e9", r"\ud83d\ude00", r"/x\/y"]),
    st.integers(min_value=-20, max_value=700), st.sampled_from([10**17, 10**18, -(10**18), 10**19]),
    st.sampled_from([True, False, None, 200.0, 30.5, -0.5, 0.0]),
)


def _encode(value) -> bytes:
    if isinstance(value, str):  # written raw, so escapes in the fragments stay escapes
        return b'"' + value.encode() + b'"'
    return json.dumps(value).encode()


_SPACE = st.sampled_from([b"", b" ", b"\n", b"\t ", b"\r\n"])
_LEVEL_NAMES = [name for name, _head in formats._LEVEL.entries]
_FIELD = {paths: [name for name, _head in paths.entries] for paths in (formats._STATUS, formats._METHOD, formats._PATH)}
_item = st.one_of(
    st.tuples(st.sampled_from(_NAMES), st.one_of(*[_SCALARS] * 8, st.just({"a": 1}), st.just([1])), _SPACE),
    st.tuples(st.sampled_from(_FIELD[formats._STATUS]), st.sampled_from([200, 404, 503, 99, 600, "500", "20x", True,
                                                                         None, "", 201.0]), _SPACE),
    st.tuples(st.sampled_from(_FIELD[formats._METHOD]), st.sampled_from(["GET", "post", "", None, "M-SEARCH"]), _SPACE),
    st.tuples(st.sampled_from(_FIELD[formats._PATH]), st.sampled_from(["/users/42", "/a/b?x=1", "", None, "/t#f",
                                                                       "http://h/p/1", "/v1/items/deadbeefcafe"]),
              _SPACE),
)
# Mostly records C is for (a level field among the others), some that it is not.
_items = st.tuples(st.tuples(st.sampled_from(_LEVEL_NAMES), st.sampled_from(_LEVELS), _SPACE),
                   st.lists(_item, max_size=7), st.integers(0, 7)).map(lambda t: t[1][: t[2]] + [t[0]] + t[1][t[2]:])
_record = st.one_of(_items, _items, _items, st.lists(_item, max_size=8)).map(
    lambda items: b"{" + b",".join(sp + _encode(k) + sp + b":" + sp + (
        _encode(v) if not isinstance(v, (dict, list)) else json.dumps(v).encode()) for k, v, sp in items) + b"}")
_broken = st.tuples(_record, st.sampled_from([b"", b" ", b"\n", b"x", b",", b"}", b"\x00"]), st.integers(0, 40)).map(
    lambda t: (t[0] + t[1]) if t[2] % 2 else t[0][: t[2]] + t[0][t[2] + 1:])


@settings(max_examples=4000, deadline=None)
@given(values=st.lists(st.one_of(_record, _broken), min_size=1, max_size=6))
def test_generated_records_read_in_c_as_python_reads_them(values):
    for value, found in zip(values, _scan.requests(values)):
        if found is not None:
            assert found == formats.request_of_record(value), value
    assert formats.requests_of_records(values) == [formats.request_of_record(v) for v in values]


def test_c_answers_the_flat_records_it_is_for():
    """The point of it: the usual flat records are read in C, not handed back."""
    answered = [_read(_encode_line(level)) for level in ("info", "warning", "debug")]
    assert answered == [("GET", "/api/users/7", 200)] * 3
    json_lines = [value for _key, value in loadgen.mixed_lines(6_000) if value[:1] == b"{"]
    read = _scan.requests(json_lines)
    assert len(json_lines) > 1_500 and None not in read
    assert read == [formats.request_of_record(value) for value in json_lines]


def _encode_line(level: str) -> bytes:
    return orjson.dumps({"timestamp": 1.7e9, "level": level, "method": "GET", "path": "/api/users/7", "status": 200})


def test_every_json_sample_of_the_test_data_reads_as_the_reference():
    values = [line for path in sorted(DATA.rglob("*")) if path.is_file() and path.suffix not in {".png"}
              for line in path.read_bytes().splitlines() if line[:1] == b"{"]
    assert len(values) > 50
    read = _scan.requests(values)
    for value, found in zip(values, read):
        if found is not None:
            assert found == formats.request_of_record(value), value


# --- JSON warnings: _scan.json_warning against partition._warning_fields -------------------

from agents.extract.config import ExtractConfig  # noqa: E402
from agents.extract.partition import _warning_fields  # noqa: E402

FIELDS = ExtractConfig().service_fields
_TIME_NAMES = [name for name, _head in formats._TIME.entries]


def _warning_both(value: bytes, fields=FIELDS):
    found = _scan.json_warning(value, fields)
    expected = _warning_fields(value, list(fields))
    if found is not None:  # where C answers, it answers as the reference
        assert (found or None) == expected, value
        if found:  # the same types too: parse_timestamp reads an int, a float and a str apart
            assert [type(x) for x in found] == [type(x) for x in expected], value
    return found


WARNINGS = [
    (b'{"timestamp": 1790000000.25, "level": "warning", "service": "svc-01", "event": "request handled",'
     b' "path": "/api/users/42", "status": 200, "duration_ms": 12}',
     ("/api/users/{id}", 200, "svc-01", 1790000000.25)),
    (b'{"level":40,"time":1700000000000,"name":"api","v":1,"msg":"slow","req.method":"GET","req.url":"/a/7",'
     b'"res.statusCode":404}', None),  # bunyan's "v": Python reads it
    (b'{"levelname": " WARN ", "app": "  billing ", "asctime": "2024-01-02 03:04:05,678", "message": "x"}',
     (None, 0, "billing", "2024-01-02 03:04:05,678")),
    (b'{"severity": 4, "SYSLOG_IDENTIFIER": "cron", "ts": 1700000000}', (None, 0, "cron", 1700000000)),
    (b'{"level": "w", "service": "", "app": "  ", "container_name": "web-1", "timestamp": true}',
     (None, 0, "web-1", True)),
    (b'{"level": "warning", "status": 503, "path": "/a"}', False),  # a server error whatever its level says
    (b'{"level": "error", "service": "api"}', False),
    (b'{"level": "warning", "service": "caf\\u00e9"}', None),  # an escaped service name
    (b'{"level": "warning", "service": {"name": "api"}}', None),  # ECS: nested
]


@pytest.mark.parametrize("value, expected", WARNINGS)
def test_known_warnings_read_in_c(value, expected):
    assert _warning_both(value) == expected


_FIELD_NAMES = list(FIELDS)[:6] + ["v", "name"] + _TIME_NAMES[:5]
_warning_item = st.one_of(
    _item,
    st.tuples(st.sampled_from(_FIELD_NAMES), st.sampled_from(
        ["api", " web ", "", " ", None, 0, 1, 7, True, 1700000000, 1700000000123, 1.7e9 + 0.5, -3, "2024-05-01T10:00:00Z",
         "1700000000.5", r"a\"b", {"name": "x"}]), _SPACE),
)
_warning_items = st.tuples(
    st.tuples(st.sampled_from(_LEVEL_NAMES), st.sampled_from(["warning", "warn", " W ", "WARNING", "40", "4", 45, 4,
                                                              49, 50, 30, 8, "error", True, 40.5]), _SPACE),
    st.lists(_warning_item, max_size=8), st.integers(0, 8)).map(lambda t: t[1][: t[2]] + [t[0]] + t[1][t[2]:])
_warning_record = _warning_items.map(
    lambda items: b"{" + b",".join(sp + _encode(k) + sp + b":" + sp + (
        _encode(v) if not isinstance(v, (dict, list)) else json.dumps(v).encode()) for k, v, sp in items) + b"}")


@settings(max_examples=4000, deadline=None)
@given(value=st.one_of(_warning_record, _warning_record, _record, _broken))
def test_generated_warnings_read_in_c_as_python_reads_them(value):
    _warning_both(value)


def test_c_reads_the_benchmark_warnings():
    values = [value for _key, value in loadgen.mixed_lines(20_000) if value[:1] == b"{" and b'"warning"' in value]
    found = [_warning_both(value) for value in values]
    assert len(values) > 1_000 and all(found), "every loadgen JSON warning is read in C"


def test_other_service_fields_are_read_as_configured():
    value = b'{"level": "warn", "service": "a", "team": "payments"}'
    assert _warning_both(value, ["team", "service"])[2] == "payments"
    assert _warning_both(value, ["service", "team"])[2] == "a"
    assert _warning_both(value, [])[2] == ""
