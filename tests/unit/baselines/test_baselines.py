"""Baselines on synthetic series with a daily pattern, replayed in event time through the pure code."""

from __future__ import annotations

import copy

import pytest

from agents.baselines.book import BUCKETS, SERIES, MemoryBook
from agents.baselines.config import BaselinesConfig
from agents.baselines.model import Point, bucket_of, observe
from agents.baselines.series import points_of
from schemas.records import CheckResult, WindowSummary

MONDAY = 1772409600.0  # 2026-03-02T00:00:00Z, a Monday
WEEK = 7 * 86400
CFG = BaselinesConfig()


def _window(t_start: float, errors: int, lines: int, service: str = "checkout") -> WindowSummary:
    return WindowSummary(id=f"{service}|{t_start:.0f}|1", service=service, window_start=t_start,
                         window_end=t_start + 60, status="silent" if not lines else ("errors" if errors else "clean"),
                         lines=lines, errors=errors)


def _usual(t_start: float) -> tuple[int, int]:
    """Errors and lines of a minute: busy 09:00-17:59 (10-14 errors, ~1000 lines), quiet at night (0-2, ~200)."""
    minute = int((t_start - MONDAY) // 60)
    hour = minute // 60 % 24
    if 9 <= hour < 18:
        return 10 + minute % 5, 1000 + 3 * (minute % 7)
    return minute % 3, 200 + 3 * (minute % 7)


def _history(book: MemoryBook, weeks: int = 3) -> None:
    for minute in range(weeks * 7 * 1440):
        t = MONDAY + minute * 60
        book.feed(_window(t, *_usual(t)))


@pytest.fixture(scope="module")
def week_of_history() -> MemoryBook:
    book = MemoryBook(CFG)
    _history(book, weeks=1)
    return book


@pytest.fixture
def book(week_of_history) -> MemoryBook:
    """A week of the usual pattern behind it: every hour-of-week bucket has 60 values."""
    return copy.deepcopy(week_of_history)


def _feed(book: MemoryBook, start: float, values: list[tuple[int, int]]) -> list[CheckResult]:
    out = []
    for i, (errors, lines) in enumerate(values):
        out += book.feed(_window(start + 60 * i, errors, lines))
    return out


def test_explanation_names_the_value_the_hour_and_the_usual_range():
    tuesday_10 = MONDAY + 86400 + 10 * 3600
    assert bucket_of(tuesday_10 + 59, "UTC") == (34, "Tuesday 10:00")
    bucket = [0.0] * 18 + [1.0] * 18 + [2.0] * 12 + [3.0] * 2  # median 1, MAD 1, 10th-90th: 0-2
    point = Point("checkout", "errors_per_min", "error rate", "/min", tuesday_10 + 60, 14.0)
    seen = observe(None, bucket, point, CFG.model_copy(update={"confirm": 1}))
    assert seen.result.status == "fail" and seen.result.kind == "baseline"
    assert seen.result.message == "error rate 14/min, usual for Tuesday 10:00 is 0–2/min"
    assert seen.result.check == "baseline:errors_per_min" and seen.result.service == "checkout"
    assert seen.result.metrics == {"value": 14.0, "usual_low": 0.0, "usual_high": 2.0, "usual_median": 1.0}
    # Just under the line: 1 + 5 * 1.4826 = 8.41 is usual enough.
    assert observe(None, bucket, Point("checkout", "e", "error rate", "/min", 1.0, 8.0),
                   CFG.model_copy(update={"confirm": 1})).result is None


def test_a_spike_at_an_unusual_hour_is_flagged_the_same_value_at_the_usual_peak_is_not(book):
    wednesday = MONDAY + WEEK + 2 * 86400
    assert _feed(book, wednesday + 14 * 3600 + 600, [(14, 1005), (14, 1010)]) == []
    night = _feed(book, wednesday + 21 * 3600 + 600, [(14, 205), (14, 203)])
    assert [(r.status, r.message) for r in night] == [
        ("fail", "error rate 14/min, usual for Wednesday 21:00 is 0–2/min")]


def test_a_finding_opens_on_the_second_deviation_and_ends_after_two_usual_windows(book):
    start = MONDAY + WEEK + 2 * 86400 + 3 * 3600
    results = [(i, r.status) for i in range(6)
               for r in _feed(book, start + 60 * i, [[(1, 200), (14, 200), (14, 200), (1, 200), (1, 200), (1, 200)][i]])]
    assert results == [(2, "fail"), (4, "ok")]
    ok = [r for r in book.feed(_window(start + 600, 1, 200))]
    assert ok == []


def test_a_silent_service_is_flagged_within_two_windows(book):
    start = MONDAY + WEEK + 86400 + 11 * 3600  # Tuesday 11:00, usually ~1000 lines/min
    first = book.feed(_window(start, 0, 0))
    second = book.feed(_window(start + 60, 0, 0))
    assert first == []
    (result,) = second
    assert result.check == "baseline:lines_per_min" and result.status == "fail"
    assert result.message == ("checkout went silent: no log lines in 2 windows in a row, "
                              "usual for Tuesday 11:00 is 1,000–1,018 lines/min")


def test_a_sudden_drop_in_volume_is_a_finding_a_quiet_night_is_not(book):
    start = MONDAY + WEEK + 86400 + 15 * 3600
    # 200 lines/min is what nights look like: no finding at 02:00.
    assert _feed(book, start - 13 * 3600, [(1, 200), (1, 200)]) == []
    (drop,) = _feed(book, start, [(10, 300), (10, 300)])
    assert drop.message == ("log volume 300 lines/min, usual for Tuesday 15:00 is 1,000–1,018 lines/min "
                            "(a sudden drop to 30% of usual)")


def test_before_a_bucket_has_history_the_decayed_recent_values_are_the_reference():
    book = MemoryBook(CFG)
    at = MONDAY + 10 * 3600
    results = []
    for i, depth in enumerate([10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 500, 500]):
        results += book.feed(CheckResult(id=f"p{i}", check="probe:queue_depth", service="payments", host="w1",
                                         kind="probe", status="ok", metrics={"queue_depth": depth},
                                         units={"queue_depth": "jobs"}, at=at + 30 * i))
    (result,) = results
    assert result.message == "queue_depth 500 jobs, usual recently is 9–11 jobs"
    assert result.check == "baseline:probe:queue_depth@w1" and result.at == at + 30 * 13


def test_a_redelivered_window_changes_nothing():
    book = MemoryBook(CFG)
    window = _window(MONDAY, 1, 200)
    book.feed(window)
    before = {name: dict(table) for name, table in book.tables.items()}
    assert book.feed(window) == []
    assert book.tables == before


def test_state_stays_bounded():
    cfg = CFG.model_copy(update={"bucket_samples": 50, "recent_samples": 30, "max_series_per_service": 3})
    book = MemoryBook(cfg)
    _history(book, weeks=1)
    assert max(len(v) for v in book.tables[BUCKETS].values()) == 50
    assert len(book.tables[BUCKETS]) == 2 * 168  # two series, one bucket per hour of the week
    assert len(book.tables[SERIES]["checkout|errors_per_min"]["recent"]) == 30
    probe = CheckResult(id="p", check="probe:x", service="checkout", kind="probe", status="ok",
                        metrics={"a": 1.0, "b": 2.0}, at=MONDAY + WEEK)
    book.feed(probe)
    assert book.tables[SERIES]["checkout|"] == ["errors_per_min", "lines_per_min", "probe:a"]  # b: over the bound


def test_points_are_per_minute_and_skip_unknown_and_own_results():
    two_minutes = WindowSummary(id="w", service="s", window_start=0, window_end=120, status="errors",
                                lines=300, errors=8)
    assert [(p.series, p.value, p.low) for p in points_of(two_minutes, CFG)] == [
        ("errors_per_min", 4.0, False), ("lines_per_min", 150.0, True)]
    disk = CheckResult(id="c", check="disk:/", service="s", host="h", status="warn",
                       metrics={"used_percent": 88.0}, units={"used_percent": "%"}, at=1)
    (point,) = points_of(disk, CFG)
    assert (point.series, point.label, point.unit) == ("disk:/.used_percent@h", "disk:/ used_percent on h", "%")
    assert points_of(disk.model_copy(update={"status": "unknown"}), CFG) == []
    assert points_of(disk.model_copy(update={"kind": "baseline"}), CFG) == []
    assert points_of(disk, CFG.model_copy(update={"checks": False})) == []


def test_a_busier_minute_is_not_a_finding_a_surge_of_twice_the_usual_volume_is(book):
    start = MONDAY + WEEK + 86400 + 16 * 3600  # Tuesday 16:00, usually 1,000-1,018 lines/min
    assert _feed(book, start, [(12, 1400), (12, 1400)]) == []  # +40 %: far out statistically, still a busy day
    (surge,) = _feed(book, start + 600, [(12, 2500), (12, 2500)])
    assert surge.message == "log volume 2,500 lines/min, usual for Tuesday 16:00 is 1,000–1,018 lines/min"
