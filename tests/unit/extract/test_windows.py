"""Scenarios: PartitionExtractor + apply_partial together, minute by minute, no broker."""

from __future__ import annotations

import json

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor
from agents.extract.windows import WindowBook, apply_partial
from schemas.records import PartialAggregate, WindowSummary

from .conftest import T0

MINUTE = 60


def minute(m: int) -> float:
    """Start of scenario minute m (1-based)."""
    return T0 + (m - 1) * MINUTE


def burst_scenario() -> list[tuple[int, bytes, bytes, float]]:
    """api: 20 info lines a minute for 10 minutes, 30 errors in minute 3 (25 of one kind,
    5 of another); billing: 5 lines in minute 1, then nothing. Ticks every 5 s."""
    records: list[tuple[bytes, bytes, float]] = []
    for m in range(1, 11):
        for i in range(20):
            at = minute(m) + i * 2.5
            records.append((b"api", b'{"level":"info","msg":"GET /health ok","time":%.3f}' % at, at))
        if m == 1:
            for i in range(5):
                records.append((b"billing", b"2023-11-14T22:14:01Z INFO invoice run %d" % i, minute(1) + 1 + i))
        if m == 3:
            for i in range(25):
                at = minute(3) + 10 + i
                records.append((b"api", b'{"level":"error","msg":"payment gateway timeout after %d ms","time":%.3f}'
                                % (1000 + i, at), at))
            for i in range(5):
                at = minute(3) + 40 + i
                records.append((b"api", b"2023-11-14 22:16:%02d ERROR [db] connection refused: db-%d:5432"
                                % (40 + i, i), at))
    for t in range(0, 10 * MINUTE + 10, 5):
        records.append((b"__tick__", b'{"tick": %.1f}' % (T0 + t), T0 + t))
    records.sort(key=lambda r: r[2])
    return [(offset, k, v, at) for offset, (k, v, at) in enumerate(records)]


def run(records, cfg: ExtractConfig, *, flush_every: int = 40, restart_at: int | None = None,
        book: WindowBook | None = None) -> tuple[list[WindowSummary], list[PartialAggregate]]:
    extractor = PartitionExtractor(0, cfg)
    book = book or WindowBook(partition=0)
    summaries: list[WindowSummary] = []
    partials: list[PartialAggregate] = []
    for index, (offset, key, value, at) in enumerate(records):
        extractor.feed(offset, key, value, at)
        if index % flush_every == flush_every - 1 or index == len(records) - 1:
            partial, _ = extractor.flush()
            if partial is None:
                continue
            # what the topic carries: JSON
            partial = PartialAggregate.model_validate_json(partial.model_dump_json())
            partials.append(partial)
            summaries += apply_partial(book, partial, cfg)
            if restart_at is not None and index >= restart_at:
                book = WindowBook.from_dict(json.loads(json.dumps(book.to_dict())))
                restart_at = None
    return summaries, partials


def test_burst_in_minute_three_then_quiet_gives_exact_summaries_for_minutes_1_to_10():
    summaries, _ = run(burst_scenario(), ExtractConfig())
    api = [(s.id, s.status, s.lines, s.errors) for s in summaries if s.service == "api"]
    expected = []
    for m in range(1, 11):
        start = int(minute(m))
        lines = 20 + (30 if m == 3 else 0)
        errors = 30 if m == 3 else 0
        expected.append((f"api|{start}|1", "errors" if errors else "clean", lines, errors))
    assert api == expected
    (burst,) = [s for s in summaries if s.service == "api" and s.status == "errors"]
    assert sorted(f.count for f in burst.findings) == [5, 25]
    assert all(f.fingerprint.startswith("fp1:") and len(f.samples) <= 3 for f in burst.findings)
    assert burst.findings[0].count == 25  # biggest first
    assert burst.window_end - burst.window_start == 60


def test_idle_service_gets_silent_summaries():
    summaries, _ = run(burst_scenario(), ExtractConfig())
    billing = [(s.window_start, s.status, s.lines) for s in summaries if s.service == "billing"]
    assert billing[0] == (minute(1), "clean", 5)
    assert billing[1:] == [(minute(m), "silent", 0) for m in range(2, 11)]


def test_summaries_are_in_window_order_and_never_repeated():
    summaries, _ = run(burst_scenario(), ExtractConfig())
    ids = [s.id for s in summaries]
    assert len(ids) == len(set(ids))
    assert [s.window_start for s in summaries] == sorted(s.window_start for s in summaries)


def test_ids_and_trace_ids_are_deterministic_across_runs_and_flush_sizes():
    a, _ = run(burst_scenario(), ExtractConfig(), flush_every=40)
    b, _ = run(burst_scenario(), ExtractConfig(), flush_every=7)
    assert [s.model_dump() for s in a] == [s.model_dump() for s in b]


def test_restart_with_book_serialised_mid_minute_gives_identical_output():
    records = burst_scenario()
    straight, _ = run(records, ExtractConfig())
    # restart in the middle of minute 3 (during the burst)
    middle = next(i for i, r in enumerate(records) if r[3] >= minute(3) + 20)
    restarted, _ = run(records, ExtractConfig(), restart_at=middle)
    assert [s.model_dump() for s in restarted] == [s.model_dump() for s in straight]


def test_duplicate_partial_range_is_ignored_entirely():
    cfg = ExtractConfig()
    _, partials = run(burst_scenario(), cfg)
    book = WindowBook(partition=0)
    first = []
    for partial in partials:
        first += apply_partial(book, partial, cfg)
    before = book.to_dict()
    again = [apply_partial(book, partial, cfg) for partial in partials[5:9]]
    assert again == [[], [], [], []]
    assert book.to_dict() == before


def test_redelivery_after_crash_between_produce_and_commit_counts_nothing_twice():
    cfg = ExtractConfig()
    records = burst_scenario()
    straight, _ = run(records, cfg)
    # Batch stage restarts from the last committed offset and re-produces the same ranges.
    book = WindowBook(partition=0)
    out: list[WindowSummary] = []
    extractor = PartitionExtractor(0, cfg)
    cut = len(records) // 2
    produced = []
    for index, record in enumerate(records[:cut]):
        extractor.feed(*record)
        if index % 40 == 39:
            produced.append(extractor.flush()[0])
    for partial in produced:
        out += apply_partial(book, partial, cfg)
    committed = produced[-3].offset_to  # the last two partials were produced, not committed
    replay = PartitionExtractor(0, cfg, watermark=produced[-3].watermark)
    for index, record in enumerate(records[committed + 1:], start=committed + 1):
        replay.feed(*record)
        if index % 40 == 39 or index == len(records) - 1:
            partial = replay.flush()[0]
            if partial:
                out += apply_partial(book, partial, cfg)
    assert [s.model_dump() for s in out] == [s.model_dump() for s in straight]
    assert book.overlapping_ranges == 0


def test_late_lines_are_counted_not_lost():
    cfg = ExtractConfig()
    records = burst_scenario()
    offset = len(records)
    # A line stamped in minute 2 arrives in minute 6, after minute 2 was emitted.
    late_at = minute(6) + 30
    records.append((offset, b"api", b'{"level":"error","msg":"late one","time":%.1f}' % (minute(2) + 3), late_at))
    records.sort(key=lambda r: r[3])
    records = [(i, k, v, at) for i, (_, k, v, at) in enumerate(records)]
    summaries, _ = run(records, cfg)
    by_minute = {s.window_start: s for s in summaries if s.service == "api"}
    assert by_minute[minute(2)].lines == 20 and by_minute[minute(2)].late_lines == 0
    assert by_minute[minute(6)].late_lines == 1
    assert by_minute[minute(6)].lines == 21
    assert by_minute[minute(6)].errors == 1


def test_stage_two_moves_data_for_an_emitted_window_into_the_open_one():
    cfg = ExtractConfig()
    book = WindowBook(partition=0)
    p1 = PartialAggregate(source_partition=0, offset_from=0, offset_to=9, watermark=minute(3) + 10,
                          windows={"api": {str(int(minute(1))): {"lines": 10}}})
    assert [s.window_start for s in apply_partial(book, p1, cfg)] == [minute(1), minute(2)]
    p2 = PartialAggregate(source_partition=0, offset_from=10, offset_to=12, watermark=minute(4) + 10,
                          windows={"api": {str(int(minute(1))): {"lines": 3}}})
    (summary,) = apply_partial(book, p2, cfg)
    assert (summary.window_start, summary.lines, summary.late_lines) == (minute(3), 3, 3)
    assert book.late_after_emit == 3


def test_service_gone_longer_than_forget_after_stops_producing_silent_windows():
    cfg = ExtractConfig(forget_service_after_s=180)
    book = WindowBook(partition=0)
    p1 = PartialAggregate(source_partition=0, offset_from=0, offset_to=0, watermark=minute(1) + 30,
                          windows={"api": {str(int(minute(1))): {"lines": 1}}})
    apply_partial(book, p1, cfg)
    p2 = PartialAggregate(source_partition=0, offset_from=1, offset_to=1, watermark=minute(10) + 10)
    statuses = [(s.window_start, s.status) for s in apply_partial(book, p2, cfg)]
    assert statuses == [(minute(1), "clean"), (minute(2), "silent"), (minute(3), "silent"), (minute(4), "silent")]
    assert book.services == {}


def test_book_state_stays_bounded_over_many_partials():
    cfg = ExtractConfig()
    book = WindowBook(partition=0)
    for i in range(2000):
        # every other range only, so ranges cannot merge
        partial = PartialAggregate(source_partition=0, offset_from=2 * i, offset_to=2 * i,
                                   watermark=T0 + i * 10, windows={"api": {str(int(T0 + i * 10) // 60 * 60): {"lines": 1}}})
        apply_partial(book, partial, cfg)
    assert len(book.sources[0].applied) <= 256
    assert len(book.open["api"]) <= 2
    assert apply_partial(book, PartialAggregate(source_partition=0, offset_from=2, offset_to=2, watermark=0.0), cfg) == []
