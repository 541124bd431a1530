"""Lifecycle scenarios as data: tests/scenarios/incidents/*.yaml, a timeline in, effects out."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from schemas.records import IncidentEvent, OutboxMessage
from tests.unit.incidents.scenario_runner import load, play

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "incidents"
FILES = sorted(SCENARIOS.glob("*.yaml"))


def _hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%H:%M")


def _hhmmss(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%H:%M:%S")


def test_every_required_scenario_is_present():
    names = {p.stem for p in FILES}
    assert {"oneoff_error", "known_issue_exact", "ai_match", "new_p1", "p3_updates", "resolution_after_5_clean",
            "flapping_reopen", "hourly_digest", "registry_expiry", "silent_service", "two_services",
            "alert_keeps_open", "ai_timeout", "fix_verified", "fix_failed_escalates", "fix_expired",
            "human_actions"} <= names


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path):
    scenario = load(path)
    expect = scenario["expect"]
    run = play(scenario)
    if "events" in expect:
        assert run.events() == expect["events"]
    if "event_ids" in expect:
        assert run.event_ids() == expect["event_ids"]
    if "outbox" in expect:
        assert run.outbox() == expect["outbox"]
    if "ai" in expect:
        assert run.ai() == expect["ai"]
    if "reports" in expect:
        assert len(run.reports()) == expect["reports"]
    if "approvals" in expect:
        assert run.approvals() == expect["approvals"]
    if "orders" in expect:
        assert run.orders() == expect["orders"]
    if "digests" in expect:
        assert run.digests() == expect["digests"]
    if "digest_emitted_at_minute" in expect:
        minutes = [m for e, m in zip(run.effects, run.caused_by_minute)
                   if isinstance(getattr(e, "record", None), OutboxMessage) and e.record.kind == "digest"]
        assert minutes == expect["digest_emitted_at_minute"]
    if "update_minutes" in expect:
        updates = [r for r in run.records(OutboxMessage) if r.kind == "update"]
        assert [_hhmm(r.at) for r in updates] == expect["update_minutes"]
    if "event_times" in expect:  # type -> HH:MM:SS of each such event, in order
        for type_, stamps in expect["event_times"].items():
            events = [r for r in run.records(IncidentEvent) if r.type == type_]
            assert [_hhmmss(r.at) for r in events] == stamps, type_
    if "outbox_times" in expect:  # kind -> HH:MM:SS of each such message, in order
        for kind, stamps in expect["outbox_times"].items():
            messages = [r for r in run.records(OutboxMessage) if r.kind == kind]
            assert [_hhmmss(r.at) for r in messages] == stamps, kind
    if "outbox_bodies" in expect:  # kind -> text each such message's body contains, in order
        for kind, texts in expect["outbox_bodies"].items():
            bodies = [r.body for r in run.records(OutboxMessage) if r.kind == kind]
            assert len(bodies) == len(texts) and all(t in b for t, b in zip(texts, bodies)), (kind, bodies)
    if "resolved_at" in expect:
        resolved = [r for r in run.records(IncidentEvent) if r.type == "resolved"]
        assert [_hhmm(r.at) for r in resolved] == [expect["resolved_at"]]
    if "expired_at" in expect:
        expired = [r for r in run.records(IncidentEvent) if r.type == "registry_expired"]
        stamps = [datetime.fromtimestamp(r.at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M") for r in expired]
        assert stamps == [expect["expired_at"]]
    if "tickets" in expect:
        for service, tickets in expect["tickets"].items():
            assert run.states[service].incident.tickets == tickets
    if "tickets_of_last_incident" in expect:
        (state,) = run.states.values()
        assert state.incident.tickets == expect["tickets_of_last_incident"]


def test_every_emitted_event_follows_the_documented_contract():
    from typing import get_args

    from schemas.contract import EVENT_TYPES

    assert set(get_args(IncidentEvent.model_fields["type"].annotation)) == set(EVENT_TYPES)
    seen = set()
    for path in FILES:
        for event in play(load(path)).records(IncidentEvent):
            seen.add(event.type)
            assert set(EVENT_TYPES[event.type][1]) <= set(event.data), (path.stem, event.type)
            # consumers get it as JSON: it must round-trip unchanged
            assert IncidentEvent.model_validate_json(event.model_dump_json()) == event
    # every event type of the contract appears in some scenario, the fix workflow's and
    # people's actions included
    assert set(EVENT_TYPES) - seen == set()
