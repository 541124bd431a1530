"""The fast path of fatal errors, reducer side: a `FatalSignal` opens and pages before its
window closes, and the window's summary extends the same incident.

No wall clock: every time is the event time the records carry.
"""

from __future__ import annotations

from agents.incidents.config import IncidentsConfig
from agents.incidents.effects import Publish
from agents.incidents.lifecycle import apply, event_time
from schemas.records import FatalSignal, Finding, IncidentEvent, OutboxMessage, WindowSummary

T0 = 1772445600.0  # 2026-03-02T10:00:00Z, a window start
CFG = IncidentsConfig()
FP = "fp1:oom-killed"


def _finding(count: int) -> Finding:
    return Finding(fingerprint=FP, service="checkout", error_type="out of memory",
                   template="Out of memory: Killed process <*> (java)",
                   title="Out of memory: Killed process 4242 (java)", level="error", count=count,
                   first_seen=T0 + 12.5, last_seen=T0 + 12.5 + count,
                   samples=["kernel: Out of memory: Killed process 4242 (java)"])


def _urgent(count: int = 1, partition: int = 0) -> FatalSignal:
    return FatalSignal(id=f"checkout|{int(T0)}|{FP}", service="checkout", window_start=T0, at=T0 + 12.5,
                       finding=_finding(count), source_partition=partition)


def _window(minute: int = 0, count: int = 4) -> WindowSummary:
    start = T0 + minute * 60
    finding = _finding(count).model_copy(update={"first_seen": start + 12.5})
    return WindowSummary(id=f"checkout|{start:.0f}|1", service="checkout", window_start=start,
                         window_end=start + 60, status="errors", lines=500, errors=count, findings=[finding])


def _feed(state, event):
    return apply(state, event, event_time(event), CFG)


def _events(effects) -> list[str]:
    return [e.record.type for e in effects if isinstance(e, Publish) and isinstance(e.record, IncidentEvent)]


def _alerts(effects) -> list[OutboxMessage]:
    return [e.record for e in effects if isinstance(e, Publish) and isinstance(e.record, OutboxMessage)
            and e.record.kind == "alert"]


def test_a_fatal_line_opens_and_pages_at_its_own_time_and_its_window_extends_the_same_incident():
    state, effects = _feed(None, _urgent(count=1))
    assert _events(effects)[:2] == ["opened", "finding_added"]
    (alert,) = _alerts(effects)
    assert alert.at == T0 + 12.5 and alert.severity == "P1"  # the line's time, not the window's end
    opened = next(e.record for e in effects if isinstance(e, Publish) and isinstance(e.record, IncidentEvent))
    assert opened.data["fast_path"] is True and opened.data["window_start"] == T0
    incident_id = state.incident.incident_id

    state, effects = _feed(state, _window(0, count=4))
    assert state.incident.incident_id == incident_id
    assert list(state.incident.findings) == [FP] and state.incident.findings[FP].count == 4  # replaced, not 1 + 4
    assert "finding_added" not in _events(effects) and "opened" not in _events(effects)
    assert _alerts(effects) == []
    assert state.incident.provisional == {} and state.incident.windows_with_errors == 1

    # The next window adds its own count as any window does.
    state, _ = _feed(state, _window(1, count=2))
    assert state.incident.findings[FP].count == 6


def test_a_redelivered_or_second_partitions_urgent_record_changes_nothing():
    state, _ = _feed(None, _urgent(count=1))
    for again in (_urgent(count=1), _urgent(count=3, partition=1)):
        same, effects = _feed(state, again)
        assert effects == [] and same == state
    state, _ = _feed(state, _window(0, count=4))
    assert state.incident.findings[FP].count == 4


def test_an_urgent_record_after_its_windows_summary_changes_nothing():
    state, effects = _feed(None, _window(0, count=4))
    assert _events(effects).count("opened") == 1 and len(_alerts(effects)) == 1
    later, effects = _feed(state, _urgent(count=1))
    assert _events(effects) == [] and _alerts(effects) == []
    assert later.incident.findings == state.incident.findings and later.incident.provisional == {}


def test_an_urgent_record_of_a_known_finding_in_an_open_incident_is_not_counted_twice():
    state, _ = _feed(None, _window(0, count=4))
    urgent = _urgent(count=1).model_copy(update={"id": f"checkout|{int(T0) + 60}|{FP}", "window_start": T0 + 60,
                                                 "at": T0 + 72.5})
    state, effects = _feed(state, urgent)
    assert _alerts(effects) == [] and "finding_added" not in _events(effects)
    assert state.incident.findings[FP].count == 5  # provisional: 4 + 1
    state, _ = _feed(state, _window(1, count=2))
    assert state.incident.findings[FP].count == 6  # the window's 2 replace the provisional 1


def test_replaying_the_same_inputs_gives_the_same_effects():
    inputs = [_urgent(count=1), _urgent(count=2, partition=1), _window(0, count=4), _window(1, count=2)]

    def run():
        state, out = None, []
        for event in inputs:
            state, effects = _feed(state, event)
            out.extend(effects)
        return state, out

    assert run() == run()
