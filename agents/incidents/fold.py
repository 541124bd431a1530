"""One record folded into the incident-states table: what the stage shell does, without Faust.

`fold_record` reads the service's state from the table (`layout.load`, or a
`StateCache` of the state it last folded the service into, while the table still holds
exactly what that fold wrote), folds the record with the reducer and returns its
effects followed by the table writes;
`fold_clock` does the same for a clock tick over every state of its partition that
something can fall due for (`clock.py`). The writes are the parts of the state that
changed (`layout.changed_parts`); `layout="whole"` writes the whole state under the
service's key, as before the layout, for the benchmark that compares the two
(`ops/bench/state_writes.py`). Pure: the shell passes its table in and carries out
what comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from agents.incidents import layout as parts
from agents.incidents.clock import STATES_TABLE
from agents.incidents.config import IncidentsConfig
from agents.incidents.lifecycle import apply, event_time
from agents.incidents.state import ServiceState
from schemas.effects import Publish, Store
from schemas.records import AIRequest, AIResult, Approval, Clock, IncidentAction, OutboxMessage, Receipt

__all__ = ["Answer", "Layout", "PartTable", "StateCache", "fold_clock", "fold_record", "writes"]

Layout = Literal["parts", "whole"]
PartTable = Mapping[str, Any]
ANSWERED = ("ai.requests", "notify.outbox")


class Answer(Protocol):
    """A replay's answers to what the reducer publishes (`streams.replay.answers`)."""

    def asked(self, record: AIRequest | OutboxMessage, state: ServiceState) -> AIResult | None:
        """The answer to fold in now, or None (left to the stage that reads the record,
        or held for `due`)."""

    def due(self, state: ServiceState) -> list[Receipt]:
        """Answers held until the state came as far as it had when live folded them."""


def _load(table: PartTable, service: str, layout: Layout) -> ServiceState | None:
    if layout == "whole":
        raw = table.get(service)
        return ServiceState.model_validate(raw) if raw else None
    return parts.load(table, service)


def writes(table: PartTable, state: ServiceState, layout: Layout = "parts") -> list[Store]:
    """The table writes that store `state` (a `None` value deletes a part that is gone)."""
    value = state.model_dump(mode="json")
    if layout == "whole":
        return [Store(STATES_TABLE, state.service, value)]
    return [Store(STATES_TABLE, key, part) for key, part in parts.changed_parts(table, value)]


class StateCache:
    """The state each service was last folded into, and the table value it was stored as
    under each of its keys.

    Reading a state back from the table is a join of its parts and a validation of the
    whole model: most of a quiet window's fold (ops/bench/README.md, replay). The cached
    state is used only while the table holds the very objects that fold wrote (or left)
    under every key of the state, so anything else that changed the table (a tick's fold,
    a recovery from the changelog after a rebalance, writes that were never carried out
    because a publish before them failed) makes the next fold read the table again. Only
    for the parts layout; a state taken from it is the caller's to change."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: dict[str, tuple[ServiceState, list[tuple[str, Any]]]] = {}
        self._limit = limit
        self._epoch = 0
        self._swept: set[str] = set()
        self._index: dict[str, list[str]] | None = None

    def rebalanced(self, epoch: int) -> None:
        """The stage's rebalance count: after a rebalance, the table holds recovered
        partitions, whose services are swept again at their first fold."""
        if epoch != self._epoch:
            self._epoch, self._swept, self._index = epoch, set(), None

    def leftovers(self, table: PartTable, service: str, stores: list[Store]) -> list[Store]:
        """Deletes for the keys of `service` that its state (as `stores` leave it) does not
        name: what a kill in the middle of a fold left (`layout.py`), looked for once per
        service after a start or a rebalance, with one pass over the table for all."""
        if service in self._swept:
            return []
        self._swept.add(service)
        if not isinstance(table.get(service), dict):
            return []  # a new service: nothing of it was left
        if self._index is None or service not in self._index:
            self._index = parts.keys_by_service(table)
        core = next((store.value for store in stores if store.key == service), None) or table[service]
        named = {service, *parts.part_keys(core)}
        return [Store(STATES_TABLE, key, None) for key in self._index.pop(service, []) if key not in named and key in table]

    def take(self, table: PartTable, service: str) -> ServiceState | None:
        entry = self._entries.pop(service, None)
        if entry is None:
            return None
        state, stored = entry
        if any(table.get(key) is not value for key, value in stored):
            return None
        return state

    def keep(self, table: PartTable, state: ServiceState, stores: list[Store]) -> None:
        """After a fold: `state`, stored as `stores` over what `table` holds now."""
        written = {store.key: store.value for store in stores}
        service = state.service
        core = written[service] if service in written else table.get(service)
        if not isinstance(core, dict):
            return
        keys = [service, *parts.part_keys(core)]
        if len(self._entries) >= self._limit:
            self._entries.pop(next(iter(self._entries)))
        self._entries[service] = (state, [(key, written[key] if key in written else table.get(key))
                                          for key in keys])


def fold_record(table: PartTable, record: Any, partition: int, cfg: IncidentsConfig,
                layout: Layout = "parts", service: str = "",
                cache: StateCache | None = None, answer: Answer | None = None) -> tuple[ServiceState, list[Any]]:
    """The new state, and the effects of `record` (any input of the incident stage but a
    tick) followed by its writes. With a `cache`, the new state is kept in it for the
    service's next record. With `answer` (a replay's), each AI request and outbox message
    the fold makes is answered in the same fold, before any other input (`_answered`)."""
    service = getattr(record, "service", "") or service
    if isinstance(record, (Approval, IncidentAction)) and not record.service:
        record = record.model_copy(update={"service": service})
    cache = cache if layout == "parts" else None
    cached = cache.take(table, service) if cache is not None else None
    state = cached if cached is not None else _load(table, service, layout)
    # Read for this fold alone (validated from the table, or taken out of the cache):
    # the reducer may change it in place.
    new_state, effects = apply(state, record, event_time(record), cfg, copy=False)
    if answer is not None:
        new_state, effects = _answered(new_state, effects, cfg, answer)
    new_state.partition = partition  # where this service's clock ticks arrive
    stores = writes(table, new_state, layout)
    if cache is not None:
        stores += cache.leftovers(table, service, stores)
        cache.keep(table, parts.as_read(new_state), stores)
    return new_state, [*effects, *stores]


def _answered(state: ServiceState, effects: list[Any], cfg: IncidentsConfig,
              answer: Answer) -> tuple[ServiceState, list[Any]]:
    """`state` and `effects` once every AI request among the effects that `answer`
    answers has its answer folded in, in the order asked (an answer may ask again: a
    classification asks to match), and every receipt `answer` held is folded in once
    the state has come as far as live had. A replay's: live, an AI answer reaches the
    reducer a moment after its request, before the service's next window or any tick
    that decides something; a replay's own stages would bring it behind the windows
    already queued, often after its event-time timeout (README, replay)."""
    done = 0
    while True:
        asked = [e.record for e in effects[done:] if isinstance(e, Publish) and e.topic in ANSWERED]
        done = len(effects)
        results: list[Any] = [r for r in (answer.asked(record, state) for record in asked) if r is not None]
        results += answer.due(state)
        if not results:
            return state, effects
        for result in results:
            state, more = apply(state, result, event_time(result), cfg, copy=False)
            effects += more


def fold_clock(table: PartTable, partition: int, clock: Clock, cfg: IncidentsConfig,
               layout: Layout = "parts") -> list[Any]:
    """Effects of `clock` on the states of `partition`; a tick that decides nothing writes nothing."""
    effects: list[Any] = []
    due = sorted(service for service, core in parts.cores(list(table.items()))
                 if parts.may_fall_due(core, partition, clock.at))
    for service in due:
        new_state, out = apply(_load(table, service, layout), clock.model_copy(update={"service": service}),
                               clock.at, cfg, copy=False)
        stores = writes(table, new_state, layout)
        if not out and _only_the_clock_moved(table, stores):
            continue  # nothing fell due: the next tick asks again, no table write
        effects += [*out, *stores]
    return effects


def _only_the_clock_moved(table: PartTable, stores: list[Store]) -> bool:
    if len(stores) != 1 or stores[0].value is None or parts.is_part(stores[0].key):
        return False
    return parts.same_core(table.get(stores[0].key), stores[0].value, "clock")
