"""The window stage commits only what it applied and stored.

A crash (SIGKILL, a rebalance) can come between applying a partial and storing the
book. The `BookKeeper` hands the batch loop the windows and then the book's snapshot;
the loop commits offsets only after both were acknowledged. These scenarios cut the
run at every point and check that every partial is applied exactly once in the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from agents.extract.books import BOOKS, WINDOWS, BookKeeper
from agents.extract.config import ExtractConfig
from schemas.records import PartialAggregate, WindowSummary

from .conftest import T0


@dataclass
class Rec:
    offset: int
    key: bytes | None
    value: bytes


def partial(offset_from: int, offset_to: int, watermark: float, errors: int) -> bytes:
    windows = {"api": {str(int(T0)): {"lines": errors, "errors": errors}}} if errors else {}
    return PartialAggregate(source_partition=0, offset_from=offset_from, offset_to=offset_to,
                            watermark=watermark, windows=windows, source_partitions=1).model_dump_json().encode()


PARTIALS = [Rec(i, b"0", partial(10 * i, 10 * i + 9, T0 + 5 * i, errors=i + 1)) for i in range(20)]
# Partial i carries i + 1 errors of minute T0 and moves the watermark to T0 + 5i. Minute
# T0 closes when the watermark passes its end plus the 5 s allowed lateness (T0 + 65),
# that is at partial 13, after its errors were merged: 1 + 2 + ... + 14. Later partials'
# errors count as late in the next minute.
EXPECTED_FIRST_WINDOW_ERRORS = sum(range(1, 15))

def run(crash_after: int | None, flush_every: int = 3):
    """Feed partials in batches; optionally 'crash' after `crash_after` records were fed
    (what was not flushed is lost) and resume from the last snapshot as the loop does."""
    cfg = ExtractConfig()
    published: list[tuple[str, bytes]] = []
    keeper = BookKeeper(0, cfg)
    position = 0
    fed = 0
    while position < len(PARTIALS):
        batch = PARTIALS[position:position + flush_every]
        keeper.feed_records(batch)
        position += len(batch)
        fed += len(batch)
        if crash_after is not None and fed >= crash_after:
            crash_after = None
            snapshots = [v for t, v in published if t == BOOKS]
            keeper = BookKeeper(0, cfg, snapshots[-1] if snapshots else None)
            position = keeper.resume_at or 0
            continue
        out, _last = keeper.flush()
        published += [(topic, value) for topic, _p, _k, value in out]
    out, _ = keeper.flush()
    published += [(topic, value) for topic, _p, _k, value in out]
    return [WindowSummary.model_validate_json(v) for t, v in published if t == WINDOWS]


def test_without_a_crash_each_window_is_emitted_once_with_every_error():
    windows = run(None)
    assert [w.window_start for w in windows] == [T0]
    assert windows[0].errors == EXPECTED_FIRST_WINDOW_ERRORS


@pytest.mark.parametrize("crash_after", [1, 2, 3, 4, 7, 13, 14, 15, 16, 19])
def test_a_crash_anywhere_loses_no_partial_and_changes_no_window(crash_after):
    windows = run(crash_after)
    by_id: dict[str, WindowSummary] = {}
    for w in windows:  # a window re-emitted after the crash is identical
        if w.id in by_id:
            assert by_id[w.id].model_dump() == w.model_dump()
        by_id[w.id] = w
    assert list(by_id) == [f"api|{int(T0)}|1"]
    assert by_id[f"api|{int(T0)}|1"].errors == EXPECTED_FIRST_WINDOW_ERRORS


def test_an_unreadable_partial_is_a_dead_letter_and_the_book_goes_on():
    keeper = BookKeeper(0, ExtractConfig())
    keeper.feed_records([Rec(0, b"0", b"{not json"), Rec(1, b"0", PARTIALS[0].value)])
    out, last = keeper.flush()
    topics = [t for t, *_ in out]
    assert topics == ["dead.letter", BOOKS] and last == 1
    letter = json.loads(out[0][3])
    assert letter["reason"] == "invalid_partial" and letter["offset"] == 0
