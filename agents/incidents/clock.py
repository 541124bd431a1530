"""Time passing for the service states of one partition: what a clock tick does.

A `Clock` record reaches the incident stage on every partition every few seconds (the
ticks stage writes it with the same time as the `logs.raw` ticks). Each state of that
partition with something that can fall due (a pending AI request, an open or recently
resolved incident) is folded with the tick by the reducer, so an AI timeout or a
5-minute update fires when its event time comes, not when the service's next window
arrives. Only states that changed are stored: a tick that decides nothing writes
nothing. Pure: never reads a clock or touches a table; the shell passes the table's
items in and carries out the effects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agents.incidents.config import IncidentsConfig
from agents.incidents.lifecycle import apply
from agents.incidents.state import ServiceState
from schemas.effects import Store
from schemas.records import Clock

__all__ = ["STATES_TABLE", "tick_states"]

STATES_TABLE = "incident-states"


def _may_fall_due(raw: Any, partition: int, at: float) -> bool:
    return (isinstance(raw, dict) and raw.get("partition") == partition and at > raw.get("clock", 0.0)
            and bool(raw.get("pending") or raw.get("incident")))


def tick_states(items: Iterable[tuple[str, Any]], partition: int, clock: Clock,
                cfg: IncidentsConfig) -> list[Any]:
    """Effects of `clock` on the states of `partition` (table items: service -> JSON state)."""
    effects: list[Any] = []
    for service, raw in sorted((k, v) for k, v in items if _may_fall_due(v, partition, clock.at)):
        state = ServiceState.model_validate(raw)
        new_state, out = apply(state, clock.model_copy(update={"service": service}), clock.at, cfg)
        if not out and new_state.model_dump(exclude={"clock"}) == state.model_dump(exclude={"clock"}):
            continue  # nothing fell due: the next tick asks again, no table write
        effects += [*out, Store(STATES_TABLE, service, new_state.model_dump(mode="json"))]
    return effects
