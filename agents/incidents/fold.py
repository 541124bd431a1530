"""One record folded into the incident-states table: what the stage shell does, without Faust.

`fold_record` reads the service's state from the table (`layout.load`), folds the
record with the reducer and returns its effects followed by the table writes;
`fold_clock` does the same for a clock tick over every state of its partition that
something can fall due for (`clock.py`). The writes are the parts of the state that
changed (`layout.changed_parts`); `layout="whole"` writes the whole state under the
service's key, as before the layout, for the benchmark that compares the two
(`ops/bench/state_writes.py`). Pure: the shell passes its table in and carries out
what comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from agents.incidents import layout as parts
from agents.incidents.clock import STATES_TABLE
from agents.incidents.config import IncidentsConfig
from agents.incidents.lifecycle import apply, event_time
from agents.incidents.state import ServiceState
from schemas.effects import Store
from schemas.records import Approval, Clock, IncidentAction

__all__ = ["Layout", "PartTable", "fold_clock", "fold_record", "writes"]

Layout = Literal["parts", "whole"]
PartTable = Mapping[str, Any]


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


def fold_record(table: PartTable, record: Any, partition: int, cfg: IncidentsConfig,
                layout: Layout = "parts", service: str = "") -> tuple[ServiceState, list[Any]]:
    """The new state, and the effects of `record` (any input of the incident stage but a
    tick) followed by its writes."""
    service = getattr(record, "service", "") or service
    if isinstance(record, (Approval, IncidentAction)) and not record.service:
        record = record.model_copy(update={"service": service})
    new_state, effects = apply(_load(table, service, layout), record, event_time(record), cfg)
    new_state.partition = partition  # where this service's clock ticks arrive
    return new_state, [*effects, *writes(table, new_state, layout)]


def fold_clock(table: PartTable, partition: int, clock: Clock, cfg: IncidentsConfig,
               layout: Layout = "parts") -> list[Any]:
    """Effects of `clock` on the states of `partition`; a tick that decides nothing writes nothing."""
    effects: list[Any] = []
    due = sorted(service for service, core in parts.cores(list(table.items()))
                 if parts.may_fall_due(core, partition, clock.at))
    for service in due:
        new_state, out = apply(_load(table, service, layout), clock.model_copy(update={"service": service}),
                               clock.at, cfg)
        stores = writes(table, new_state, layout)
        if not out and _only_the_clock_moved(table, stores):
            continue  # nothing fell due: the next tick asks again, no table write
        effects += [*out, *stores]
    return effects


def _only_the_clock_moved(table: PartTable, stores: list[Store]) -> bool:
    if len(stores) != 1 or stores[0].value is None or parts.is_part(stores[0].key):
        return False
    old = table.get(stores[0].key) or {}
    return {**old, "clock": 0} == {**stores[0].value, "clock": 0}
