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
    assert out == []  # b may only be slow: a is not yet three hours ahead of it
    book, out = _feed(book, _part("a", 3))
    hour1, hour2, hour3 = _digest_events(out)
    assert hour1.data["period_start"] == T0 + H and list(hour1.data["services"]) == ["a"]
    # b is left out from then on, so a's own part completes an hour at once
    assert [hour2.data["period_start"], hour3.data["period_start"]] == [T0 + 2 * H, T0 + 3 * H]
    book, out = _feed(book, _part("a", 4))
    assert [e.data["period_start"] for e in _digest_events(out)] == [T0 + 4 * H]


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


def _digests(order):
    _, out = _feed(None, *order)
    return [(e.event_id, e.title, e.data) for e in _digest_events(out)]


def test_a_replay_reading_one_service_ahead_of_the_others_sends_the_digests_live_sent():
    # Live, the parts of an hour come together (each service's first window of the next
    # hour). A fast replay reads partitions at their own pace: here a's parts run one hour
    # ahead of b's and c's. b had an incident open through hour 1.
    hours = range(5)
    parts = {(s, h): _part(s, h, clean_windows=60) for s in "abc" for h in hours}
    parts["b", 1] = _part("b", 1, error_windows=4, opened=["b-1"], open_incident="b-1")
    live = [parts[s, h] for h in hours for s in "abc"]
    ahead = [parts[s, 0] for s in "abc"] + [p for h in range(1, 5) for p in
                                             ([parts["a", h]] + ([parts["b", h - 1], parts["c", h - 1]] if h > 1 else []))]
    ahead += [parts["b", 4], parts["c", 4]]
    assert sorted(map(id, ahead)) == sorted(map(id, live))  # the same parts, another order
    sent = _digests(live)
    # Every hour out, each once all three services sent their part.
    assert [key for key, _, _ in sent] == [f"digest:{T0 + h * H:.0f}" for h in hours]
    assert sent[1][1] == "Hourly digest: 2026-03-02 11:00 to 12:00 UTC, 2 of 3 services clean"
    assert _digests(ahead) == sent  # no late part, no "Update:" digest


def test_a_replay_holds_every_period_until_its_input_ends_then_sends_each_with_all_its_parts():
    # A fast replay reads partitions far apart: here all of a's day before any of b's.
    # Held until the runner's end-of-input part, each hour goes out once, from both parts.
    cfg = IncidentsConfig(digest_at_end_of_input=True)
    parts = [_part(s, h, clean_windows=60) for s in "ab" for h in range(6)]
    parts[8] = _part("b", 2, error_windows=5, opened=["b-1"], resolved=["b-1"])
    book, out = None, []
    for part in parts:
        book, out = apply_digest_part(book, part, cfg)
        assert out == []
    book, out = apply_digest_part(book, DigestPart(service="", period_start=0, period_end=0, end_of_input=True), cfg)
    events = _digest_events(out)
    assert [e.event_id for e in events] == [f"digest:{T0 + h * H:.0f}" for h in range(6)]
    assert [e.title.split(":")[0] for e in events] == ["All clear"] * 2 + ["Hourly digest"] + ["All clear"] * 3
    assert all(sorted(e.data["services"]) == ["a", "b"] for e in events)
    assert events[2].data["opened"] == ["b-1"] and book.late_parts == 0
