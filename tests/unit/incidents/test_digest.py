"""The single-partition digest aggregator."""

from __future__ import annotations

from agents.incidents.config import IncidentsConfig
from agents.incidents.digest import DigestBook, DigestPart, apply_digest_part
from schemas.records import IncidentEvent, OutboxMessage

CFG = IncidentsConfig()
H = 3600.0
T0 = 1772445600.0  # 2026-03-02T10:00:00Z


def _part(service: str, hour: int, **counters) -> DigestPart:
    start = T0 + hour * H
    return DigestPart(service=service, period_start=start, period_end=start + H, **counters)


def _feed(book, *parts):
    out = []
    for part in parts:
        book, effects = apply_digest_part(book, part, CFG)
        out += effects
    return book, out


def _digest_events(effects):
    return [e.record for e in effects if isinstance(e.record, IncidentEvent)]


def test_digest_waits_for_every_service_of_the_previous_hour():
    book, out = _feed(None, _part("a", 0, clean_windows=60), _part("b", 0, clean_windows=60), _part("a", 1))
    assert [e.event_id for e in _digest_events(out)] == [f"digest:{T0:.0f}"]
    book, out = _feed(book, _part("b", 1, error_windows=3, opened=["b-1"], open_incident="b-1"))
    (event,) = _digest_events(out)
    assert event.data["clean_services"] == ["a"] and event.data["opened"] == ["b-1"]
    assert event.data["still_open"] == ["b-1"]
    (message,) = [e.record for e in out if isinstance(e.record, OutboxMessage)]
    assert message.kind == "digest" and message.title.startswith("Hourly digest")


def test_a_service_that_went_away_does_not_hold_the_digest_forever():
    book, _ = _feed(None, _part("a", 0), _part("b", 0), _part("a", 1))
    book, out = _feed(book, _part("a", 2))  # b never reports hour 1
    hour1, hour2 = _digest_events(out)
    assert hour1.data["period_start"] == T0 + H and list(hour1.data["services"]) == ["a"]
    # from then on only "a" is expected, so its own part completes the hour at once
    assert hour2.data["period_start"] == T0 + 2 * H and book.expected == ["a"]


def test_redelivered_and_late_parts_emit_nothing():
    book, _ = _feed(None, _part("a", 0), _part("b", 0), _part("a", 1))
    book, out = _feed(book, _part("a", 1))  # redelivered while hour 1 still waits for b
    assert out == [] and book.late_parts == 0
    book, out = _feed(book, _part("z", 0, clean_windows=5))  # hour 0 went out already
    assert out == [] and book.late_parts == 1


def test_all_clear_title_and_counts():
    _, out = _feed(None, _part("a", 0, clean_windows=58, oneoffs=["fp1:x", "fp1:y"], resolved=["a-3"]),
                   _part("a", 1))
    event = _digest_events(out)[0]
    assert event.title.startswith("All clear") and event.data["oneoffs"] == 2 and event.data["resolved"] == ["a-3"]
    assert DigestBook.model_validate_json(_feed(None, _part("a", 0))[0].model_dump_json()).periods


def test_an_all_clear_is_sent_again_as_an_hourly_digest_when_a_late_part_had_an_incident_open():
    # b's partition is read after a's (a worker catching up): a's hour 1 begins first, so
    # hour 0 goes out with a alone, "All clear" (hour 1 too: a is all it expects now);
    # then b's hour 0 says b-1 was open.
    book, out = _feed(None, _part("a", 0, clean_windows=60), _part("a", 1, clean_windows=60))
    first, _ = [e.record for e in out if isinstance(e.record, OutboxMessage)]
    assert first.title == "All clear: 2026-03-02 10:00 to 11:00 UTC, 1 of 1 service clean"
    book, out = _feed(book, _part("b", 0, error_windows=4, opened=["b-1"], open_incident="b-1"))
    (event,) = _digest_events(out)
    (again,) = [e.record for e in out if isinstance(e.record, OutboxMessage)]
    assert again.title == "Update: Hourly digest: 2026-03-02 10:00 to 11:00 UTC, 1 of 2 services clean"
    assert "Still open: b-1" in again.body.splitlines()
    # Its own key and event id: the first digest's delivery record and event must not swallow it.
    assert again.key == event.event_id == f"digest:{T0:.0f}:update-1"
    # A clean late part, or b's part again, changes nothing more.
    book, out = _feed(book, _part("c", 0, clean_windows=60), _part("b", 0, error_windows=4, opened=["b-1"]))
    assert out == [] and book.late_parts == 3
