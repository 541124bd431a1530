"""The report's lines around each incident's start (`streams.replay.run`): read from the
few produced batches whose times cover the start, by the line's own service as
extraction reads it (a topic replay copies what shippers sent, often with no key)."""

from __future__ import annotations

from agents.extract.config import ExtractConfig
from streams.replay.inputs import TICK_KEY, SentBatch
from streams.replay.run import LINES_BEFORE, LINES_FROM, _near_ranges, _spans, pick_lines_near

START = 1_795_399_800.0  # 2026-11-23 02:10:00 UTC: payments' window


def _line(service: str, at: float, text: str) -> bytes:
    return f"{service}  | {text} at +{at - START:.0f}s".encode()


def test_lines_of_an_unkeyed_shipper_are_found_by_the_service_the_line_names():
    # One line every 5 s from 02:08:00 to 02:12:00 for payments, keyed by nobody, and
    # web's lines and a tick at the same times on the same partition.
    records = []
    for n, at in enumerate(START - 120 + 5 * i for i in range(49)):
        records.append((at, 3 * n, None, _line("payments-1", at, "POST /v1/payments 201")))
        records.append((at, 3 * n + 1, b"web-1", _line("web-1", at, "GET / 200")))
        records.append((at, 3 * n + 2, TICK_KEY, b'{"tick": 1}'))
    near = pick_lines_near(records, {"inc-1": ("payments-1", START)}, ExtractConfig())
    lines = near["inc-1"]
    # The last LINES_BEFORE (5) before 02:10:00 (02:09:35 .. 02:09:55), then those of the
    # minute from it, at most LINES_FROM (15): 02:10:00 .. 02:10:55, 12 lines 5 s apart.
    assert (LINES_BEFORE, LINES_FROM) == (5, 15)
    assert len(lines) == 5 + 12
    assert lines[0].endswith("at +-25s") and lines[4].endswith("at +-5s")
    assert lines[5].endswith("at +0s") and lines[-1].endswith("at +55s")
    assert all(line.startswith("payments-1") for line in lines)


def test_a_key_names_the_service_of_a_line_that_names_none():
    records = [(START - 1, 0, b"billing", b"charge failed: card declined"), (START + 1, 1, b"web", b"GET / 500")]
    near = pick_lines_near(records, {"inc-2": ("billing", START)}, ExtractConfig())
    assert near == {"inc-2": ["charge failed: card declined"]}


def test_only_the_batches_whose_times_cover_a_start_are_read():
    ms = 1000
    batches = [
        SentBatch(0, 0, 7000, int((START - 7200) * ms), int((START - 3600) * ms)),   # two to one hour before
        SentBatch(0, 7000, 7000, int((START - 3600) * ms), int((START - 30) * ms)),  # up to 30 s before: read
        SentBatch(0, 14000, 7000, int((START - 30) * ms), int((START + 3600) * ms)),  # across the start: read
        SentBatch(0, 21000, 7000, int((START + 3600) * ms), int((START + 7200) * ms)),
        SentBatch(1, 0, 500, int((START + 90) * ms), int((START + 91) * ms)),  # from the range's end on: not read
        SentBatch(2, 0, 500, int((START - 90) * ms), int((START - 60) * ms)),  # its last line at the range's start
    ]
    ranges = _near_ranges({"a": ("payments-1", START), "b": ("web-1", START + 30)})
    assert ranges == [(START - 60, START + 90)]
    assert _spans(batches, ranges) == {0: [(7000, 21000)], 2: [(0, 500)]}
