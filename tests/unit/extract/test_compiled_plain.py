"""The compiled reading of a plain text line (`_scan.plain_line`) gives what
`formats._plain` reads in Python: the same message, level, logger and time, on every
line of the test data, the benchmark's lines and lines built from the pieces each of its
patterns looks at (times in both forms, with fractions, zones and brackets; every level
word next to every stop; origins up to and past 120 characters; blanks of every kind).
The Python function is the reference. No broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.extract import formats
from agents.extract.formats import _plain
from ops.bench import loadgen

pytestmark = pytest.mark.skipif(formats._compiled_plain is None,
                                reason="compiled parts off: _scan not built (no C compiler) or LOGWARDEN_PURE_PYTHON set")

DATA = Path(__file__).resolve().parents[2] / "data"
REFERENCE = 1_790_000_000.0


def _both(text: str):
    compiled = _plain(text, REFERENCE)
    held, formats._compiled_plain = formats._compiled_plain, None
    try:
        python = _plain(text, REFERENCE)
    finally:
        formats._compiled_plain = held
    return compiled, python


def test_every_line_of_the_test_data_and_the_benchmark():
    lines = [line.decode("utf-8", "replace").rstrip("\r\n") for path in sorted(DATA.rglob("*"))
             if path.is_file() and path.stat().st_size < 5_000_000 for line in path.read_bytes().split(b"\n")]
    lines += [value.decode() for _key, value in loadgen.mixed_lines(20_000) if value[:1] != b"{"]
    assert len(lines) > 40_000
    read_in_c = 0
    for text in lines:
        compiled, python = _both(text)
        assert compiled == python, text
        read_in_c += text.isascii() and formats._compiled_plain(text) is not None
    assert read_in_c > 30_000  # most lines are read in C, not handed back


def test_the_usual_shapes():
    line = _plain("2026-11-24 10:00:00,540 ERROR [svc-17.worker] job failed: timeout id=356395", REFERENCE)
    assert (line.message, line.level, line.logger) == ("job failed: timeout id=356395", "error", "svc-17.worker")
    assert line.timestamp == pytest.approx(1795514400.54)  # 2026-11-24T10:00:00.540Z, by arithmetic
    line = _plain("[2024-05-01T10:00:00.5+02:00] WARNING: disk at 91%", REFERENCE)
    assert (line.message, line.level, line.logger) == ("disk at 91%", "warning", "")
    assert line.timestamp == pytest.approx(1714550400.5)  # 08:00:00.5Z that day
    line = _plain("no time, but ERROR here", REFERENCE)
    assert (line.message, line.level, line.timestamp) == ("no time, but ERROR here", "error", None)


_TIMES = ["2024-05-01 10:00:00", "2024-05-01T10:00:00", "2024/05/01 10:00:00", "2024-05-01 10:00:00,123",
          "2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00-0530", "2024-05-01T10:00:00+05:3",
          "2024/05/01 10:00:00.25", "2024-02-30 10:00:00", "2024-05-01 25:00:00", "[2024-05-01 10:00:00]",
          "[2024-05-01 10:00:00", "2024-05-01T10:00:00.", "2024-05-01X10:00:00", "12345", "2024/05/01T10:00:00"]
_WORDS = ["ERROR", "error", "Error", "ERR", "WARN", "WARNING", "warn", "INFO", "CRIT", "CRITICAL", "SEVERE", "severe",
          "FATAL", "panic", "EMERG", "notice", "TRACE", "debug", "ALERT", "ERRORS", "INFO2"]
_STOPS = [" ", "\t", "\x1c", "\x0b", "[", "]", "<", ">", "(", ")", ":", "|", ",", "-", "", "x", "\n"]
_PIECES = _TIMES + _WORDS + _STOPS + ["[svc.api] ", "[main] ", "[a$b:c/d-e.f_g]  ", "[" + "w" * 120 + "] ",
                                      "[" + "w" * 121 + "] ", "[x y] ", "[] ", "[ok]", "[ok] \t", "message text ",
                                      "id=42 ", "é", "  ", "---", "||"]


@settings(max_examples=3000, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=9))
def test_lines_built_from_the_patterns_pieces(pieces):
    text = "".join(pieces)
    compiled, python = _both(text)
    assert compiled == python, text


def test_a_level_word_past_the_160th_character_of_the_message_is_not_read():
    text = "2024-05-01 10:00:00 " + "x" * 157 + " ERROR"
    compiled, python = _both(text)
    assert compiled == python and compiled.level == ""
    text = "2024-05-01 10:00:00 " + "x" * 154 + " ERROR"  # the word ends at the 160th: read
    compiled, python = _both(text)
    assert compiled == python and compiled.level == "error"


@pytest.mark.parametrize("text", [
    "2024-05-01 10:00:00 ERROR [" + "w" * 120 + "] a message",  # the longest origin read
    "2024-05-01 10:00:00 ERROR [" + "w" * 121 + "] a message",  # one more: no origin
    "2024-05-01 10:00:00 ab ERROR [svc] text",  # the word's stop 2 characters in: the origin is read
    "2024-05-01 10:00:00 abc ERROR [svc] text",  # 3 in: not
    "2024-05-01 10:00:00 ERROR [svc]",  # an origin with nothing after it is none
    "2024-05-01 10:00:00 ERROR [svc]  \x1c",  # nor with only blanks after it
    "2024-05-01 10:00:00 | - ERROR ]: [svc] text",
])
def test_the_edges_of_the_origin_and_the_level_words_place(text):
    compiled, python = _both(text)
    assert compiled == python, text
