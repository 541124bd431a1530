"""Clock ticks reach the service states of their partition (agents/incidents/clock.py).

No wall clock here: every time is a number carried in a record, as on the broker.
"""

from __future__ import annotations

from agents.incidents.clock import STATES_TABLE
from agents.incidents.fold import fold_clock
from agents.incidents.layout import SEP, changed_parts, load
from agents.incidents.config import IncidentsConfig
from agents.incidents.lifecycle import apply, event_time
from agents.incidents.state import ServiceState
from schemas.effects import Publish, Store
from schemas.records import AIRequest, Clock, Finding, IncidentEvent, OutboxMessage, WindowSummary

T0 = 1_772_445_600.0  # 2026-03-02T10:00:00Z
CFG = IncidentsConfig()


def _opened(service: str, partition: int) -> dict:
    finding = Finding(fingerprint="fp1:db-down", service=service, error_type="OperationalError",
                      template="OperationalError: could not connect to server", count=9, first_seen=T0, last_seen=T0)
    window = WindowSummary(id=f"{service}|{T0:.0f}|1", service=service, window_start=T0, window_end=T0 + 60,
                           status="errors", lines=100, errors=9, findings=[finding])
    state, effects = apply(None, window, event_time(window), CFG)
    assert [e.record.kind for e in effects if isinstance(e, Publish) and isinstance(e.record, OutboxMessage)] == ["alert"]
    state.partition = partition
    return state.model_dump(mode="json")


def _table(**states: dict) -> dict:
    """A table holding `states` as the stage stores them (agents/incidents/layout.py)."""
    table: dict = {}
    for state in states.values():
        table.update(changed_parts(table, state))
    return table


def _types(effects) -> list[str]:  # noqa: ANN001
    return [e.record.type for e in effects if isinstance(e, Publish) and isinstance(e.record, IncidentEvent)]


def test_a_tick_before_the_timeout_decides_and_writes_nothing():
    table = _table(checkout=_opened("checkout", 2))
    assert fold_clock(table, 2, Clock(at=T0 + 60 + 29), CFG) == []


def test_a_tick_past_the_timeout_decides_the_states_of_its_own_partition_only():
    table = {**_table(checkout=_opened("checkout", 2), search=_opened("search", 3)), "quiet": {"service": "quiet"}}
    effects = fold_clock(table, 2, Clock(at=T0 + 60 + 30), CFG)
    stored = [e for e in effects if isinstance(e, Store)]
    # Only checkout's state is written: its own key and its parts (agents/incidents/layout.py).
    assert {(s.table, s.key.split(SEP)[0]) for s in stored} == {(STATES_TABLE, "checkout")}
    assert _types(effects) == ["registry_added"]  # the built-in classification, at 10:01:30
    table.update({s.key: s.value for s in stored})
    state = load(table, "checkout")
    assert state.pending == {} and state.clock == T0 + 90
    assert {e.record.at for e in effects if isinstance(e, Publish)} == {T0 + 90}
    # Redelivered, the same tick finds nothing left to decide.
    assert fold_clock(table, 2, Clock(at=T0 + 90), CFG) == []


def test_a_clock_far_ahead_of_a_service_replaying_history_moves_nothing():
    raw = _opened("checkout", 0)
    far = Clock(at=T0 + 60 + CFG.clock_max_lead_s + 1, service="checkout")
    assert fold_clock(_table(checkout=raw), 0, far, CFG) == []


def test_one_request_asks_classification_and_summary_and_its_timeout_edits_nothing():
    state = ServiceState.model_validate(_opened("a", 0))
    (request,) = state.pending.values()
    assert request.task == "classify"  # the summary rides on it: one round trip, not two
    state, effects = apply(state, Clock(at=T0 + 95, service="a"), T0 + 95, CFG)
    kinds = [e.record.kind for e in effects if isinstance(e, Publish) and isinstance(e.record, OutboxMessage)]
    assert kinds == ["ticket_create"]  # the built-in decision; the first alert keeps its text
    assert not [e for e in effects if isinstance(e, Publish) and isinstance(e.record, AIRequest)]
