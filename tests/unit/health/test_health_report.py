"""The periodic health report on synthetic series, replayed in event time through the pure code.

Window summaries go through the baselines' `judge` (as the stage does), their judgements
through the per-service period tracker, the closed periods through the report assembler;
the tables are dicts. Expected texts are worked out from the series by hand.
"""

from __future__ import annotations

from agents.baselines.book import BUCKETS, SERIES, judge
from agents.baselines.config import BaselinesConfig, HealthConfig
from agents.baselines.health import HealthPart, period_end_of, track
from agents.baselines.report import HealthBook, apply_health_part
from schemas.effects import Publish, WriteReport
from schemas.records import WindowSummary

MONDAY = 1772409600.0  # 2026-03-02T00:00:00Z, a Monday
HOUR = 3600.0


class Pipeline:
    """The baselines stage's two handlers over dict tables."""

    def __init__(self, health: HealthConfig, baselines: BaselinesConfig | None = None):
        self.cfg, self.health = baselines or BaselinesConfig(), health
        self.tables: dict[str, dict] = {SERIES: {}, BUCKETS: {}}
        self.periods: dict[str, dict] = {}
        self.book: HealthBook | None = None
        self.parts: list[HealthPart] = []
        self.effects: list = []

    def window(self, service: str, start: float, errors: int, lines: int) -> None:
        record = WindowSummary(id=f"{service}|{start:.0f}|1", service=service, window_start=start,
                               window_end=start + 60, status="errors" if errors else "clean", lines=lines,
                               errors=errors)
        judgement = judge(record, self.tables[SERIES], self.tables[BUCKETS], self.cfg)
        for table, key, value in judgement.stores:
            self.tables[table][key] = value
        self.periods[service], parts = track(self.periods.get(service), service, judgement.seen, self.health)
        for part in parts:
            # Through JSON, as on health.parts.
            part = HealthPart.model_validate_json(part.model_dump_json())
            self.parts.append(part)
            self.book, out = apply_health_part(self.book, part, self.health)
            self.effects += out

    def reports(self) -> list[WriteReport]:
        return [e for e in self.effects if isinstance(e, WriteReport)]

    def messages(self) -> list:
        return [e.record for e in self.effects if isinstance(e, Publish) and e.topic == "notify.outbox"]


def _errors(minute: int) -> int:
    return minute % 3  # 0, 1, 2 errors a minute: median 1, usual range 0-2


def _run(pipe: Pipeline, services: dict[str, dict[int, int]], start: float, minutes: int) -> None:
    """`minutes` windows from `start` for each service; {service: {minute: errors}} overrides."""
    for m in range(minutes):
        for service, spikes in services.items():
            pipe.window(service, start + 60 * m, spikes.get(m, _errors(m)), 200)


def test_a_spike_in_the_period_is_reported_with_its_numbers_and_its_usual_band():
    pipe = Pipeline(HealthConfig(period_s=HOUR))
    seven = MONDAY + 7 * HOUR
    # 07:00-10:00 usual, 10:00-11:00 with 14 errors in the minutes 10:13 and 10:14, one window of 11:00.
    _run(pipe, {"checkout": {3 * 60 + 13: 14, 3 * 60 + 14: 14}}, seven, 4 * 60 + 1)

    (report,) = pipe.reports()
    (message,) = pipe.messages()
    # The first spike's window is 10:13-10:14; a window's time is its end.
    sentence = ("error rate 14/min at 10:14, usual recently is 0–2/min "
                "(2 of 60 readings unusual; latest 2/min)")
    assert report.filename == "2026-03-02-health-1000.md"
    assert report.content.startswith(
        "# Health report 2026-03-02 10:00 to 11:00 UTC: 1 of 1 service unusual (checkout)\n")
    assert "## checkout" in report.content and f"- {sentence}" in report.content
    # The period's first window is 10:00-10:01, minute 180 of the run: 0 errors.
    assert "| error rate | 60 | 2 | 0/min → 2/min | usual recently is 0–2/min |" in report.content
    assert message.kind == "digest" and message.key == f"health:{MONDAY + 10 * HOUR:.0f}"
    assert message.body == f"checkout: {sentence}; log volume normal"
    assert message.at == MONDAY + 11 * HOUR
    # The usual hours before sent nothing: the digest is off.
    assert [p.period_start for p in pipe.parts] == [MONDAY + h * HOUR for h in (7, 8, 9, 10)]


def test_an_all_normal_period_writes_nothing_when_the_digest_is_off():
    pipe = Pipeline(HealthConfig(period_s=HOUR))
    _run(pipe, {"checkout": {}, "search": {}}, MONDAY + 7 * HOUR, 4 * 60 + 1)
    assert len(pipe.parts) == 8  # four hours of two services were closed ...
    assert pipe.effects == []  # ... and nothing was written or sent


def test_with_the_digest_on_each_normal_service_gets_one_all_normal_line():
    pipe = Pipeline(HealthConfig(period_s=HOUR, digest=True))
    _run(pipe, {"checkout": {}, "search": {}}, MONDAY + 7 * HOUR, 2 * 60 + 1)
    titles = [m.title for m in pipe.messages()]
    assert titles == ["Health report 2026-03-02 07:00 to 08:00 UTC: all 2 services normal",
                      "Health report 2026-03-02 08:00 to 09:00 UTC: all 2 services normal"]
    # The first hour had too little history to judge (10 values), the second all of it.
    assert pipe.messages()[0].body == ("checkout: all normal (2 series)\nsearch: all normal (2 series)")
    assert pipe.messages()[1].body == "checkout: all normal (2 series)\nsearch: all normal (2 series)"
    assert [r.filename for r in pipe.reports()] == ["2026-03-02-health-0700.md", "2026-03-02-health-0800.md"]


def test_a_service_with_no_history_yet_says_so_instead_of_all_normal():
    pipe = Pipeline(HealthConfig(period_s=600, digest=True))
    _run(pipe, {"new-svc": {}}, MONDAY, 5)  # 5 values: fewer than min_recent_samples
    _run(pipe, {"new-svc": {}}, MONDAY + 600, 1)
    _run(pipe, {"new-svc": {}}, MONDAY + 1200, 1)
    assert pipe.messages()[0].body == "new-svc: no usual values learned yet (2 series)"


def test_one_unusual_service_among_normal_ones_names_only_it_and_lists_the_rest_as_normal():
    pipe = Pipeline(HealthConfig(period_s=HOUR))
    _run(pipe, {"checkout": {}, "payments": {2 * 60 + 30: 40}, "search": {}}, MONDAY + 7 * HOUR, 3 * 60 + 1)
    (message,) = pipe.messages()
    assert message.title == "Health report 2026-03-02 09:00 to 10:00 UTC: 1 of 3 services unusual (payments)"
    # By 09:30 the Monday 09:00 bucket holds 30 values (min_bucket_samples): it is the reference.
    assert message.body.splitlines() == [
        "payments: error rate 40/min at 09:31, usual for Monday 09:00 is 0–2/min "
        "(1 of 60 readings unusual; latest 2/min); "
        "log volume normal",
        "Normal: checkout, search"]


def test_a_service_that_went_silent_is_reported_as_no_log_lines_against_its_usual_volume():
    pipe = Pipeline(HealthConfig(period_s=HOUR))
    start = MONDAY + 7 * HOUR
    for m in range(3 * 60 + 1):
        silent = m in (2 * 60 + 40, 2 * 60 + 41)  # 09:40-09:42: not a line
        pipe.window("payments", start + 60 * m, 0 if silent else _errors(m), 0 if silent else 200)
    (message,) = pipe.messages()
    assert message.body == ("payments: no log lines at 09:41, usual for Monday 09:00 is 200 lines/min "
                            "(2 of 60 readings unusual; latest 200 lines/min); error rate normal")


def test_a_redelivered_part_or_one_after_its_report_changes_nothing():
    pipe = Pipeline(HealthConfig(period_s=HOUR))
    _run(pipe, {"checkout": {2 * 60 + 30: 40}}, MONDAY + 7 * HOUR, 3 * 60 + 1)
    assert len(pipe.messages()) == 1
    book, again = apply_health_part(pipe.book, pipe.parts[-1], pipe.health)
    assert again == [] and book.late_parts == 1


def test_periods_are_aligned_to_the_epoch_and_a_window_belongs_to_the_period_it_ends_in():
    assert period_end_of(MONDAY + 10 * HOUR, HOUR) == MONDAY + 10 * HOUR  # the window 09:59-10:00
    assert period_end_of(MONDAY + 10 * HOUR + 60, HOUR) == MONDAY + 11 * HOUR
    assert period_end_of(MONDAY + 601, 600) == MONDAY + 1200


def _run_one_after_the_other(pipe: Pipeline, services: dict[str, dict[int, int]], start: float, minutes: int) -> None:
    """As `_run`, but each service's windows all before the next service's: one partition
    read to its end before the other, as a worker catching up on a backlog may."""
    for service, spikes in services.items():
        for m in range(minutes):
            pipe.window(service, start + 60 * m, spikes.get(m, _errors(m)), 200)


def test_an_unusual_service_whose_parts_come_after_the_others_is_still_reported():
    # search's three hours arrive first: by "a later period has begun" its hours are
    # reported alone (all normal: nothing sent); payments' parts then come late.
    pipe = Pipeline(HealthConfig(period_s=HOUR))
    _run_one_after_the_other(pipe, {"search": {}, "payments": {2 * 60 + 30: 40}}, MONDAY + 7 * HOUR, 3 * 60 + 1)
    (message,) = pipe.messages()
    # The same words as when both services' windows are read side by side (the test above).
    assert message.title == "Health report 2026-03-02 09:00 to 10:00 UTC: 1 of 2 services unusual (payments)"
    assert message.key == f"health:{MONDAY + 9 * HOUR:.0f}"
    assert message.body.splitlines() == [
        "payments: error rate 40/min at 09:31, usual for Monday 09:00 is 0–2/min "
        "(1 of 60 readings unusual; latest 2/min); "
        "log volume normal",
        "Normal: search"]
    (report,) = pipe.reports()
    assert report.filename == "2026-03-02-health-0900.md" and "- search: all normal (2 series)" in report.content


def test_a_report_already_sent_is_sent_again_with_a_service_whose_unusual_part_came_late():
    # checkout's spike at 09:30 goes out alone; payments' spike at 09:45 arrives after it.
    pipe = Pipeline(HealthConfig(period_s=HOUR))
    _run_one_after_the_other(pipe, {"checkout": {2 * 60 + 30: 40}, "payments": {2 * 60 + 45: 30}},
                             MONDAY + 7 * HOUR, 3 * 60 + 1)
    first, again = pipe.messages()
    assert first.title == "Health report 2026-03-02 09:00 to 10:00 UTC: 1 of 1 service unusual (checkout)"
    assert again.title == "Update: Health report 2026-03-02 09:00 to 10:00 UTC: 2 of 2 services unusual " \
                          "(checkout, payments)"
    # Its own key: the first message's delivery record must not swallow it.
    assert (first.key, again.key) == (f"health:{MONDAY + 9 * HOUR:.0f}", f"health:{MONDAY + 9 * HOUR:.0f}:update-1")
    assert "payments: error rate 30/min at 09:46" in again.body
    # The same file, rewritten whole: both services, and why it was written again.
    assert [r.filename for r in pipe.reports()] == ["2026-03-02-health-0900.md"] * 2
    assert "## checkout" in pipe.reports()[1].content and "## payments" in pipe.reports()[1].content
    assert "sent again: payments reported after the first report went out" in pipe.reports()[1].content
