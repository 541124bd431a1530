"""The compiled reading of a `docker compose logs` line's service and time
(`_scan.compose_service_time`, used by `streams.replay.inputs.service_and_time`) answers
what the Python reads (`service_of_line` and `line_time`, the reference) wherever it
answers, and leaves to Python what it does not read itself.

Compared on every line of the test corpus behind compose prefixes, on the benchmark's
generated day, and on lines built from the fragments each rule looks at (times in ISO
and access-log forms at every position around the 48-character search limit, zones,
fractions, dates and times that do not exist, headers that name a service, numbers).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streams.replay.inputs as inputs
from agents.extract.config import ExtractConfig
from agents.service_name import resolve, service_of_line
from ops.bench.replay_day import write_day
from streams.replay.inputs import line_time, service_and_time

COMPILED = inputs._compose
pytestmark = pytest.mark.skipif(COMPILED is None, reason="the C extension is not built here, or LOGWARDEN_PURE_PYTHON is set")

DATA = Path(__file__).resolve().parents[2] / "data"
CFG = ExtractConfig()
REFERENCE = 1_795_392_000.0  # 2026-11-23 00:00:00 UTC


def _reference(line: bytes) -> tuple[str, float | None]:
    return service_of_line(line, None, CFG.service_fields, CFG.service_map), line_time(line, CFG, REFERENCE)


def _compiled(line: bytes) -> tuple[str, float | None] | None:
    found = COMPILED(line)
    return None if found is None else (resolve(found[0], None, CFG.service_map), found[1])


def _check(line: bytes) -> bool:
    """Equal where the compiled reading answers; True if it did."""
    found = _compiled(line)
    if found is not None:
        assert found == _reference(line), line[:200]
    assert service_and_time(line, CFG, REFERENCE) == _reference(line), line[:200]
    return found is not None


def test_known_times_as_the_world_writes_them():
    # Apache's documentation of the common log format: [10/Oct/2000:13:55:36 -0700],
    # which is 2000-10-10 20:55:36 UTC (`date -u -d '2000-10-10 20:55:36' +%s`).
    line = b'web-1  | 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
    assert COMPILED(line) == ("web-1", 971211336.0)
    # RFC 3339's example 1985-04-12T23:20:50.52Z (`date -u -d '1985-04-12T23:20:50Z' +%s` = 482196050)
    name, at = COMPILED(b"api-1  | time=1985-04-12T23:20:50.52Z level=info")
    assert name == "api-1" and at == pytest.approx(482196050.52, abs=1e-6)
    # and its 1996-12-19T16:39:57-08:00, which is 1996-12-20T00:39:57Z (851042397)
    assert COMPILED(b"api-1  | at 1996-12-19T16:39:57-08:00 started") == ("api-1", 851042397.0)
    # 2024 is a leap year, 2023 is not: the second has no time (Python's datetime refuses it)
    assert COMPILED(b"api-1  | 2024-02-29 12:00:00 ok") == ("api-1", 1709208000.0)
    assert COMPILED(b"api-1  | 2023-02-29 12:00:00 ok") == ("api-1", None)


@pytest.mark.parametrize("line, answers", [
    # a header naming a service of its own: Python reads it (logfmt service=/app=, syslog, nested compose)
    (b"api-1  | 2026-11-23 00:00:01 INFO service=billing started", False),
    (b"api-1  | time=2026-11-23T00:00:01Z level=info app=pay msg=x", False),
    (b"api-1  | <13>Nov 23 00:00:01 host billing[42]: x", False),
    (b"api-1  | 2026-11-23T00:00:01Z host billing[42]: x", False),
    (b"api-1  | inner-2  | 2026-11-23 00:00:01 x", False),
    # the whitespace of a str pattern includes \x1c-\x1f: in the prefix and before a zone
    (b"api-1\x1c | 2026-11-23 00:00:01 x", True),
    (b"api-1  | 2026-11-23 00:00:01\x1c+05:30 x", True),
    (b"api-1  | 2026-11-23 00:00:01 -0800 x", True),
    # the time must lie within the first 48 characters of the stripped text
    (b"api-1  |    " + b"x" * 28 + b" 2026-11-23 00:00:01 y", True),
    (b"api-1  | " + b"x" * 29 + b" 2026-11-23 00:00:01 y", False),
    (b"api-1  | " + b"x" * 20 + b" [23/Nov/2026:00:00:01 +0000] y", True),
    (b"api-1  | " + b"x" * 23 + b" [23/Nov/2026:00:00:01 +0000] y", True),  # the zone falls off the limit
    (b"api-1  | 12.5", False),  # a number: Python's
    (b"api-1  | [23/Foo/2026:00:00:01 +0000] x", False),  # a month Python does not know
    (b"api-1  | 2026-11-23 00:00:01.1234567891234 x", True),  # at most nine digits of fraction
])
def test_lines_each_rule_looks_at(line, answers):
    assert _check(line) is answers, line


def test_every_corpus_line_behind_a_prefix():
    lines = [line for path in sorted((DATA / "extract").rglob("*"))
             if path.is_file() and path.suffix not in (".json", ".md")
             for line in path.read_bytes().splitlines() if line.strip()]
    assert len(lines) > 800
    answered = 0
    for prefix in (b"api-1  | ", b"billing.worker_2 | ", b"w\t\x1c | ", b"a | "):
        answered += sum(_check(prefix + line) for line in lines)
    assert answered >= 4 * 60  # it reads a share itself (not only "Python decides")


def test_the_generated_day(tmp_path):
    path = tmp_path / "day.log"
    write_day(path, 20_000)
    lines = path.read_bytes().splitlines()
    answered = sum(_check(line) for line in lines)
    # every line that is not JSON and has a time: access, logfmt, Python logging (a
    # traceback's other lines have none, and Python tries its other time patterns)
    timed_text = sum(1 for line in lines if b"| {" not in line[:20] and _reference(line)[1] is not None)
    assert answered == timed_text > 10_000


_digits = st.text("0123456789", min_size=1, max_size=3)
_iso = st.builds(
    lambda y, s1, mo, s2, d, t, h, s3, mi, s4, sec, frac, sp, zone: (
        f"{y:04d}{s1}{mo:02d}{s2}{d:02d}{t}{h:02d}{s3}{mi:02d}{s4}{sec:02d}{frac}{sp}{zone}"),
    st.integers(0, 9999), st.sampled_from("-/.:"), st.integers(0, 13), st.sampled_from("-/.x"),
    st.integers(0, 32), st.sampled_from("T _-x"), st.integers(0, 25), st.sampled_from(":."),
    st.integers(0, 61), st.sampled_from(":.-"), st.integers(0, 61),
    st.one_of(st.just(""), st.builds(lambda sep, ds: sep + ds, st.sampled_from(".,"),
                                     st.text("0123456789", max_size=12))),
    st.sampled_from(["", " ", "  ", "\t", "\x1c"]),
    st.sampled_from(["", "Z", "UTC", "GMT", "+05:30", "-0800", "+05:3", "-08", "+1", "z", "+0000", "-12:00"]))
_clf = st.builds(
    lambda d, mon, y, h, mi, s, sp, zone: f"[{d:02d}/{mon}/{y:04d}:{h:02d}:{mi:02d}:{s:02d}{sp}{zone}]",
    st.integers(0, 32), st.sampled_from(["Jan", "feb", "MAR", "Dec", "Foo", "Nov", "Sept"]), st.integers(0, 9999),
    st.integers(0, 25), st.integers(0, 61), st.integers(0, 61), st.sampled_from(["", " ", "  ", "\t"]),
    st.sampled_from(["", "+0000", "-0700", "+053", "+12345"]))
_word = st.sampled_from(["GET /x", "level=info", "service=billing", "app=pay", "INFO", "<13>", "{", "}", "|",
                         " | ", "x-1  | ", "T", "12.5", "3", ".", "msg=\"a b\"", "caf\u00e9", "\t", "\x0b", " "])
_body = st.lists(st.one_of(_iso, _clf, _word, _digits, st.text(" abcXYZ019:-/.T", max_size=30)), max_size=6).map("".join)
_name = st.sampled_from(["api-1", "a", "billing.worker_2", "x" * 63, "x" * 64, "Api-1", "1api", "api-1\u00e9"])
_gap = st.sampled_from([" ", "  ", "\t", " \x1c", "\x0b ", ""])


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_name, _gap, _body)
def test_built_lines(name, gap, body):
    line = f"{name}{gap} | {body}".encode()
    _check(line)
