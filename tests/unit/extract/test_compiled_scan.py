"""The compiled batch prefilter (`agents/extract/_scan.c`) gives the answers of the Python
reference (`prefilter.scan_batch_python`), record for record: which lines must be parsed
(a miss loses an error) and which may be requests (a miss loses a request from its
route's count). Compared on every line of the test data, on the benchmarks' generated
days, on random batches built from the fragments each rule looks for, and through the
whole extraction core. No broker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.extract import prefilter
from agents.extract.compiled import pure_python
from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor
from ops.bench import extract_core, loadgen

try:
    from agents.extract import _scan
except ImportError:  # not built: no C compiler when the project was installed
    _scan = None

DATA = Path(__file__).resolve().parents[2] / "data"
needs_compiled = pytest.mark.skipif(_scan is None, reason="agents.extract._scan not built (no C compiler)")


def _both(values: list[bytes], max_bytes: int = 65536) -> tuple[tuple[set[int], list[int]], tuple[set[int], list[int]]]:
    return _scan.scan_batch(values, max_bytes), prefilter.scan_batch_python(values, max_bytes)


def test_it_is_built_wherever_the_project_is_installed_with_a_c_compiler():
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: the pure-Python scan is the one that runs")
    assert _scan is not None, "pip install -e . did not build agents/extract/_scan.c (see setup.py)"


@needs_compiled
def test_the_same_records_on_every_line_of_the_test_data():
    lines = [line for path in sorted(DATA.rglob("*")) if path.is_file() and path.stat().st_size < 5_000_000
             for line in path.read_bytes().split(b"\n")]
    assert len(lines) > 30_000  # the loghub sets, vendor payloads, application logs, traces
    compared = 0
    for first in range(0, len(lines), 500):
        batch = lines[first:first + 500]
        compiled, python = _both(batch)
        assert compiled == python, [batch[i] for i in compiled[0] ^ python[0]][:3]
        compared += len(batch)
    assert compared == len(lines)


@needs_compiled
def test_the_same_records_on_the_generated_days():
    days = [value for _key, value in loadgen.mixed_lines(40_000)]
    days += [value for _key, value, _at in extract_core.generate(40_000)]
    selected = 0
    for first in range(0, len(days), 500):
        compiled, python = _both(days[first:first + 500])
        assert compiled == python
        selected += len(compiled[0])
    assert 0.05 * len(days) < selected < 0.5 * len(days)  # errors, warnings, frames: not all, not none


# Fragments each rule of prefilter.py looks for, and their near misses, in any order.
_FRAGMENTS = [b"status", b"Status", b"STATUS", b"_code", b"code", b"Code", b'"', b" ", b"\t", b"\n", b"\x0b",
              b"\x1c", b":", b"=", b"5", b"0", b"9", b"4", b"6", b"3", b'"level":', b"E", b"F", b"W", b"<", b"{",
              b"}", b'{"tick":', b"at ", b"at", b'File "', b"]", b"] ", b"\\", b"err", b"r", b"e", b"a", b"ARN",
              b"w", b"p", b"anic", b"xception", b"evere", b"merg", b"lert", b"egmentation", b"igsegv",
              b"of memory: kill", b"rit", b"raceback", b"atal", b"x", b"_", b"\x00", b"\x80", b"\xc3\xa9", b"-"]
_value = st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map(b"".join)


@needs_compiled
@settings(max_examples=3000, deadline=None)
@given(values=st.lists(_value, max_size=8), max_bytes=st.sampled_from([4, 16, 65536]))
def test_the_same_records_on_random_batches_of_the_rules_fragments(values, max_bytes):
    compiled, python = _both(values, max_bytes)
    assert compiled == python, [values[i] for i in compiled[0] ^ python[0]] or (compiled[1], python[1])


@needs_compiled
def test_known_lines_each_rule_selects():
    lines = [
        b'{"level":"info","msg":"ok"}',                    # 0: nothing
        b'{"level": 50, "msg":"boom"}',                    # 1: pino's numeric error level
        b'10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 503 12 "-" "x"',  # 2: 5xx, a request
        b'10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "x"',  # 3: a request only
        b"    at com.acme.Pool.acquire(Pool.java:131)",   # 4: an orphan Java frame
        b"E0911 10:00:00.000 1 main.go:10] lost",          # 5: glog error
        b'{"msg":"cut',                                    # 6: cut JSON
        b"plain text that says Sigsegv",                   # 7: a crash word, any case
        b'method=GET status_code="503"',                  # 8: 5xx status field, and a request
        b"W12",                                            # 9: glog-ish record that ends after its digits
        b'{"tick": 1.5}',                                  # 10: a tick
        b"caf\xc3\xa9 ouvert",                             # 11: non-ASCII
        b"learning to earn",                               # 12: "earn" is [e]+"arn": generous on purpose
        b"Status: 5000 bytes",                             # 13: no 5xx (a word goes on after 500), a request
        b"STATUS=503, retrying",                           # 14: a 5xx status, any case; not a request (case)
        b"status=503x",                                    # 15: a request only
        b"status  : 503 x",                                # 16: a request (any blanks), no 5xx (one blank at most)
        b"sTATUS=200",                                     # 17: neither: a request's field is case-exact
    ]
    found, requests = _scan.scan_batch(lines, 65536)
    assert found == {1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14}
    assert requests == [2, 3, 8, 15, 16]
    assert (found, requests) == prefilter.scan_batch_python(lines, 65536)
    assert _scan.scan_batch([b"x" * 20, b"y"], 10) == ({0}, [])


def test_values_that_are_not_bytes_take_the_python_path():
    values = [bytearray(b'{"level": 50}'), b"fine"]
    assert prefilter.scan_batch(values, 65536) == ({0}, [])
    assert prefilter.scan_batch((b"tuple", b"error"), 65536) == ({1}, [])


@needs_compiled
def test_the_extraction_core_gives_the_same_partials_compiled_or_not():
    lines = list(loadgen.mixed_lines(30_000))

    def run() -> list:
        extractor = PartitionExtractor(0, ExtractConfig())
        out = []
        for first in range(0, len(lines), 500):
            extractor.feed_records([extract_core._Fetched(first + i, key, value, 1_790_000_000_000 + first + i)
                                    for i, (key, value) in enumerate(lines[first:first + 500])])
            if first % 5000 == 4500:
                out.append(extractor.flush()[0].model_dump())
        last = extractor.flush()[0]
        return out + ([last.model_dump()] if last is not None else [])

    compiled = run()
    with pure_python():
        python = run()
    assert compiled == python
    errors = sum(w["errors"] for partial in python for service in partial["windows"].values()
                 for w in service.values())
    assert errors > 300  # 2 % of 30,000 lines are errors, the traces' lines among them


# --- requests: access lines read in C, routes normalised in C --------------------------

_ACCESS_PARTS = [b"10.0.0.1", b"my host", b"[::1]", b"-", b"user", b" ", b"\t", b"\x1c", b"[", b"]", b'"', b"\\",
                 b"24/Nov/2026:10:00:02 +0000", b"GET", b"POST", b"get", b"/a/1", b"/x?y=1", b"HTTP/1.1", b"200",
                 b"503", b"20", b"|", b"\n", b"\xc3\xa9", b"http://h/p"]
_access_line = st.tuples(
    st.lists(st.sampled_from(_ACCESS_PARTS), min_size=1, max_size=3).map(b"".join),
    st.lists(st.sampled_from(_ACCESS_PARTS), min_size=1, max_size=3).map(b"".join),
    st.lists(st.sampled_from(_ACCESS_PARTS), max_size=6).map(b"".join),
    st.lists(st.sampled_from(_ACCESS_PARTS), max_size=3).map(b"".join),
).map(lambda p: p[0] + b" - - [" + b"24/Nov/2026:10:00:02 +0000] " + b'"' + p[1] + b" " + p[2] + b'" ' + p[3] + b" 1")


@needs_compiled
@settings(max_examples=3000, deadline=None)
@given(lines=st.lists(st.one_of(_access_line, _value), max_size=6))
def test_access_lines_read_in_c_as_python_reads_them(lines):
    from agents.extract import formats

    read = _scan.access_requests(lines)
    for line, found in zip(lines, read):
        if found is not None:  # where C answers, it answers as the reference
            assert found == formats.request_of_record(line), line
            match = formats._ACCESS_BYTES.match(line)
            assert match and found == (match.group(3).decode() if match.group(3) else "",
                                       match.group(4).decode() if match.group(4) else "", int(match.group(5)))
        else:  # where it does not, the Python fast form would not either (or it is not plain ASCII)
            assert (line[:1] == b'"' or not line.isascii() or b"|" in line
                    or formats._ACCESS_BYTES.match(line) is None), line


_PATH_PARTS = ["/", "users", "42", "7", "a1b2", "deadbeefcafe", "DEADBEEFCAFE12", "550e8400-e29b-41d4-a716-446655440000",
               "x" * 20, "v1", "item_9", "-", "_", ".", "%20", "?q=1", "#frag", "://", "é", " ", "~", "2024-01-01",
               "tok_ABCDEFGHIJKLMNOPQRSTUV", "abc-123-def"]


@needs_compiled
@settings(max_examples=3000, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(["", "GET", "post", "M-SEARCH", "Ünï"]),
                                st.lists(st.sampled_from(_PATH_PARTS), max_size=8).map("".join)), max_size=6))
def test_routes_normalised_in_c_as_python_normalises_them(pairs):
    from agents.extract.findings import normalise_endpoint, normalise_endpoints, normalise_endpoints_python

    expected = [normalise_endpoint(method, target) for method, target in pairs]
    for route, pair, want in zip(_scan.routes(pairs), pairs, expected):
        assert route is None or route == want, pair
    assert normalise_endpoints(pairs) == expected == normalise_endpoints_python(pairs)


@needs_compiled
def test_access_lines_whose_target_holds_quotes():
    """The regex takes the longest target that lets the rest match: C walks back the same way."""
    head = b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "'
    lines = [head + b'GET /a"b" 200 1', head + b'GET /a" 200 1 "x" 503 2', head + b'GET /a"b"c 404 1',
             head + b'GET /a"" 200 1', head + b'- " 400 0 "-" "-"', head + b'GET  /a" 200 1']
    assert _scan.access_requests(lines) == [("GET", '/a"b', 200), ("GET", "/a", 200), None, ("GET", '/a"', 200),
                                            ("", "", 400), ("", "", 200)]
    from agents.extract import formats

    assert [formats.request_of_record(line) for line in lines] == [
        ("GET", '/a"b', 200), ("GET", "/a", 200), ("", "", 0), ("GET", '/a"', 200), ("", "", 400), ("", "", 200)]


@needs_compiled
def test_the_usual_requests_are_answered_in_c():
    values = [value for _key, value in loadgen.mixed_lines(5_000) if b'] "' in value]
    read = _scan.access_requests(values)
    assert len(values) > 1_000 and None not in read
    routes = _scan.routes([(method, target) for method, target, _status in read])
    assert None not in routes and all(route.startswith("GET /") for route in routes)
    assert "GET /api/users/{id}" in routes  # loadgen's "/api/users/{}" with a number
