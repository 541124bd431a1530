"""A worker killed in the middle of a fold's table writes (SIGKILL, OOM, a lost node).

The stage publishes a fold's effects (acknowledged), then writes the parts of the state
that changed to the changelogged table; Faust sends those writes in order on the
service's changelog partition and flushes them before it commits the input's offset
(`faust.transport.consumer.Consumer.commit`). A kill can therefore leave on the
changelog any prefix of one fold's writes, and the record that made them is
delivered again after the restart. Whatever the prefix, the restarted worker must end
with the state the uninterrupted run had: the expected value is that run's own state,
fold by fold, over every incident scenario (tests/scenarios/incidents).

Before this was so, the core (with its redelivery guard) went first: a kill after it
left a state whose registry bucket or finding counts were older than its core, and the
redelivered record was taken as done. An end-to-end run showed it: after a kill the
incident said 10 errors where 15 were sent and the known-issue registry was empty
(tests/e2e/test_incident_recovery.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.incidents import layout
from agents.incidents.fold import StateCache, fold_clock, fold_record
from schemas.effects import Publish, Store
from schemas.records import Clock
from tests.unit.incidents.scenario_runner import ScenarioPlayer, store_writes
from tests.unit.incidents.scenario_runner import load as load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios" / "incidents").glob("*.yaml"))


class Recording(ScenarioPlayer):
    """The scenario through the stage shell's fold (`fold.py`) over a table, every fold kept."""

    def __init__(self, scenario: dict) -> None:
        super().__init__(scenario, roundtrip="table")
        self.folds: list[tuple[dict, object, str, list]] = []

    def fold(self, table: dict, record: object, service: str, cache: StateCache | None = None) -> list:
        if isinstance(record, Clock):
            return fold_clock(table, 0, record, self.cfg)
        return fold_record(table, record, 0, self.cfg, service=service, cache=cache)[1]

    def feed(self, record, minute: int = 0) -> None:  # noqa: ANN001
        self.queue.append(record)
        while self.queue:
            current = self.queue.popleft()
            service = self._service_of(current)
            before = dict(self.table)
            out = self.fold(self.table, current, service)
            store_writes(self.table, [e for e in out if isinstance(e, Store)])
            self.folds.append((before, current, service, out))
            effects = [e for e in out if not isinstance(e, Store)]
            self.run.effects += effects
            for effect in effects:
                self._answer(effect, minute)


def _published(out: list) -> list:
    return [(e.topic, e.record) for e in out if isinstance(e, Publish)]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_a_kill_after_any_prefix_of_a_folds_writes_recovers_the_uninterrupted_state(path):
    player = Recording(load_scenario(path))
    player.play()
    crashes = 0
    for before, record, service, out in player.folds:
        stores = [e for e in out if isinstance(e, Store)]
        after = dict(before)
        store_writes(after, stores)
        services = sorted({s.key.split(layout.SEP)[0] for s in stores})
        for cut in range(len(stores)):  # cut == len(stores): no kill
            crashes += 1
            table = dict(before)
            store_writes(table, stores[:cut])  # what reached the changelog before the kill
            again = player.fold(table, record, service, StateCache())  # the restart: the same record, again
            store_writes(table, [e for e in again if isinstance(e, Store)])
            for name in services:
                assert layout.load(table, name) == layout.load(after, name), (record, cut)
            # Published again only if the kill came before the fold counted as done; then
            # with the same ids (each consumer of a topic drops what it had).
            assert _published(again) in ([], _published(out)), (record, cut)
            # What the kill left that no state names: gone with the service's first fold
            # after the restart (here the redelivered record's, but a tick's).
            store_writes(table, [s for name in services for s in StateCache().leftovers(table, name, [])])
            assert _unnamed(table) == set(), (record, cut)
            assert table == after, (record, cut)
            assert not {k for k in after if k not in table}, (record, cut)
    assert crashes >= 10  # the scenario did write


def _unnamed(table: dict) -> set:
    named = {key for service, core in layout.cores(table.items()) for key in [service, *layout.part_keys(core)]}
    return set(table) - named


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_a_kill_before_the_core_then_another_input_first_leaves_no_part_behind(path):
    """After the restart, another input of the service (an answer, an alert on another
    topic) may be folded before the redelivered one: the restarted stage's first fold of
    the service (its `StateCache`, fresh) deletes what the killed attempt wrote."""
    player = Recording(load_scenario(path))
    player.play()
    checked = 0
    folds = player.folds
    for i, (before, _record, service, out) in enumerate(folds):
        stores = [e for e in out if isinstance(e, Store)]
        at = [j for j, s in enumerate(stores) if s.key == service]
        later = [r for _b, r, s, _o in folds[i + 1:] if s == service and not isinstance(r, Clock)]
        if not at or at[0] == 0 or service not in before or not later:
            continue  # no part written, a first fold, or nothing else for the service
        table = dict(before)
        store_writes(table, stores[:at[0]])  # every new part, not the core
        assert _unnamed(table), "the killed attempt's parts are there, named by no core"
        assert layout.load(table, service) == layout.load(before, service)  # the state before it
        state, out2 = fold_record(table, later[0], 0, player.cfg, service=service, cache=StateCache())
        store_writes(table, [e for e in out2 if isinstance(e, Store)])
        assert _unnamed(table) == set(), (later[0], i)
        assert layout.load(table, service) == state
        checked += 1
    assert checked >= 2
