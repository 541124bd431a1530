"""Time passing for the service states of one partition: what a clock tick does.

A `Clock` record reaches the incident stage on every partition every few seconds (the
ticks stage writes it with the same time as the `logs.raw` ticks). Each state of that
partition with something that can fall due (a pending AI request, an open or recently
resolved incident) is folded with the tick by the reducer, so an AI timeout or a
5-minute update fires when its event time comes, not when the service's next window
arrives. Only states that changed are stored: a tick that decides nothing writes
nothing (`fold.fold_clock`, `layout.may_fall_due`).
"""

from __future__ import annotations

__all__ = ["STATES_TABLE"]

STATES_TABLE = "incident-states"
