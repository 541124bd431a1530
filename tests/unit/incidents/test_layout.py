"""The incident-states table layout (agents/incidents/layout.py): a service's state in
parts, a part written only when it changed, and the same decisions whatever the layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.incidents import layout
from agents.incidents.config import IncidentsConfig
from agents.incidents.fold import fold_record
from agents.incidents.layout import SEP, changed_parts, cores, join, load
from agents.incidents.state import RegistryEntry, ServiceState
from schemas.effects import Store
from schemas.records import Finding, WindowSummary
from tests.unit.incidents.scenario_runner import load as load_scenario
from tests.unit.incidents.scenario_runner import ScenarioPlayer, play, store_writes

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios" / "incidents").glob("*.yaml"))
T0 = 1_772_445_600.0  # 2026-03-02T10:00:00Z


def _records(run) -> list:  # noqa: ANN001
    return [getattr(e, "record", e) for e in run.effects]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_stored_in_parts_and_read_back_decides_exactly_as_in_memory(path):
    scenario = load_scenario(path)
    player = ScenarioPlayer(scenario, roundtrip="table")
    plain, stored = play(scenario), player.play()
    assert _records(stored) == _records(plain)
    for service, state in plain.states.items():
        assert load(player.table, service) == state  # what the table holds is the whole state


def _big_state() -> ServiceState:
    """A service with an open incident (12 findings, 150 timeline entries) and 40 known issues."""
    run = play(load_scenario(SCENARIOS[0]))
    state = next(iter(run.states.values())).model_copy(deep=True)
    state.registry = {f"{state.service}|GET /r{i}|E{i}": RegistryEntry(
        entry_id=f"{state.service}|GET /r{i}|E{i}", service=state.service, endpoint=f"GET /r{i}", error_type=f"E{i}",
        fingerprint=f"fp1:{i:04d}", first_seen=T0, last_seen=T0 + i) for i in range(40)}
    assert state.incident is not None, "the first scenario opens an incident"
    state.incident.timeline = [{"at": T0 + i, "text": f"entry {i}"} for i in range(150)]
    return state


def _stored(state: ServiceState) -> dict:
    table: dict = {}
    store_writes(table, changed_parts(table, state.model_dump(mode="json")))
    return table


def test_split_and_join_give_the_state_back_with_its_order():
    state = _big_state().model_dump(mode="json")
    table = _stored(ServiceState.model_validate(state))
    back = join(table[state["service"]], table.get)
    assert back == state
    assert list(back["incident"]["findings"]) == list(state["incident"]["findings"])  # titles list them in order
    assert [e["text"] for e in back["incident"]["timeline"]] == [f"entry {i}" for i in range(150)]


def test_touching_one_known_issue_writes_one_small_part():
    state = _big_state()
    table = _stored(state)
    whole = len(json.dumps(state.model_dump(mode="json")))
    entry = next(iter(state.registry))
    state.registry[entry].last_seen += 60
    state.registry[entry].occurrences += 1
    writes = changed_parts(table, state.model_dump(mode="json"))
    # The bucket under its new version, the core naming it, the old version deleted.
    assert [(key.split(SEP)[-1].split("/")[0], value is None) for key, value in writes] == [
        ("registry", False), ("checkout", False), ("registry", True)]
    key, value = writes[0]
    assert key.startswith(f"{state.service}{SEP}registry/") and entry in value["registry"]
    assert writes[2][0] in table and writes[2][0].split("#")[0] == key.split("#")[0]
    # 40 entries in 16 buckets: a bucket holds a few, far from the 40 of a whole rewrite.
    assert len(value["registry"]) < 10 and len(json.dumps(value)) < whole / 10


def test_an_appended_timeline_entry_rewrites_the_last_chunk_and_nothing_older():
    state = _big_state()
    table = _stored(state)
    chunks_before = {k for k in table if SEP + "timeline/" in k}
    state.incident.timeline.append({"at": T0 + 500, "text": "update sent"})
    writes = dict(changed_parts(table, state.model_dump(mode="json")))
    rewritten = {k for k, v in writes.items() if SEP + "timeline/" in k and v is not None}
    assert len(rewritten) == 1  # the last chunk, grown or new
    assert set(writes) - rewritten - chunks_before == {state.service}  # and the core naming it
    assert len({k for k, v in writes.items() if v is None}) <= 1  # the last chunk's old version
    assert not chunks_before & rewritten


def test_dropping_an_entry_from_the_middle_rewrites_only_its_chunk():
    state = _big_state()
    table = _stored(state)
    del state.incident.timeline[60]  # what the reducer does at timeline_max (effects.py)
    writes = dict(changed_parts(table, state.model_dump(mode="json")))
    assert len([k for k in writes if SEP + "timeline/" in k and writes[k] is not None]) <= 2
    assert len(writes) <= 4  # that chunk (maybe renamed: its old name deleted), and the core's list


def test_parts_an_incident_no_longer_has_are_deleted():
    state = _big_state()
    table = _stored(state)
    state.incident = None
    writes = dict(changed_parts(table, state.model_dump(mode="json")))
    gone = {k for k, v in writes.items() if v is None}
    incident_parts = (SEP + "timeline/", SEP + "findings/", SEP + "decisions/")
    assert gone == {k for k in table if any(p in k for p in incident_parts + (SEP + "texts",))}
    assert gone and not any(SEP + "registry/" in k for k in gone)
    store_writes(table, writes.items())
    assert load(table, state.service) == state
    assert [k for k, _v in cores(table.items())] == [state.service]


def test_a_state_written_whole_before_this_layout_still_reads_and_its_next_write_splits_it():
    state = _big_state()
    table = {state.service: state.model_dump(mode="json")}  # the old layout: everything under one key
    assert load(table, state.service) == state
    store_writes(table, changed_parts(table, state.model_dump(mode="json")))
    assert layout.PARTS in table[state.service] and "registry" not in table[state.service]
    assert load(table, state.service) == state


def test_the_shell_fold_writes_only_its_services_keys_and_reads_them_back():
    table: dict = {}
    state, effects = fold_record(table, _window("checkout"), 0, IncidentsConfig())
    writes = [(e.key, e.value) for e in effects if isinstance(e, Store)]
    assert state.incident is not None and writes
    assert {key.split(SEP)[0] for key, _value in writes} == {"checkout"}
    store_writes(table, writes)
    assert load(table, "checkout") == state
    # The same window again (redelivered): decided already, nothing changed, nothing written.
    _state, again = fold_record(table, _window("checkout"), 0, IncidentsConfig())
    assert [e for e in again if isinstance(e, Store)] == []


def _window(service: str) -> WindowSummary:
    finding = Finding(fingerprint="fp1:db", service=service, error_type="psycopg2.OperationalError",
                      count=9, first_seen=T0, last_seen=T0 + 50, samples=["psycopg2.OperationalError: refused"])
    return WindowSummary(id=f"{service}|{T0:.0f}|1", service=service, window_start=T0, window_end=T0 + 60,
                         status="errors", lines=100, errors=9, findings=[finding])


def test_parts_written_before_versions_still_read_and_only_a_changed_one_moves_to_a_version():
    state = _big_state()
    versioned = _stored(state)
    # The table as the layout before versions wrote it: plain part keys, no versions in the core.
    table = {key.split("#")[0]: value for key, value in versioned.items()}
    table[state.service] = {k: v for k, v in table[state.service].items() if k not in ("_v", "_at", "_drop")}
    assert load(table, state.service) == state
    entry = next(iter(state.registry))
    state.registry[entry].occurrences += 1
    writes = changed_parts(table, state.model_dump(mode="json"))
    written = [key for key, value in writes if value is not None]
    deleted = [key for key, value in writes if value is None]
    assert len(written) == 2 and written[0].endswith("#1") and written[1] == state.service
    assert deleted == [written[0].split("#")[0]]  # the bucket's plain key, the others stay
    store_writes(table, writes)
    assert load(table, state.service) == state
    assert sum("#" not in key for key in table) == len(versioned) - 1  # the core, and every other part's plain key
