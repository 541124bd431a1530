"""Ctrl-C while a stage publishes: the worker stops, it does not crash.

Faust stops its producer while agents may still be handling a record; a send then raises
`NotReady("Producer service not yet started")`. Raised as is, the agent crashed the app
and `logwarden up` exited 1 on Ctrl-C now and then (a clean run of the suite, 2026-12-03:
`test_up_demo_opens_updates_resolves_and_reports`, "Crashed reason=NotReady"). While the
app is stopping the work in hand is cancelled instead; before, or outside a stop, the
error stays what it is."""

from __future__ import annotations

import asyncio

import pytest
from faust.exceptions import NotReady

from streams.topology import Topology


class _Topic:
    async def send(self, **_kwargs):  # noqa: ANN003, ANN202
        raise NotReady("Producer service not yet started")


class _App:
    def __init__(self, should_stop: bool) -> None:
        self.should_stop = should_stop


def _topology(should_stop: bool) -> Topology:
    topology = Topology.__new__(Topology)  # no Faust app: only the publish path is under test
    topology.app = _App(should_stop)
    topology.prefix = ""
    topology.topics = {"incidents.events": _Topic()}
    return topology


def test_a_send_after_the_producer_stopped_cancels_the_work_while_stopping():
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(_topology(should_stop=True).publish("incidents.events", "checkout", b"{}"))


def test_a_producer_not_started_outside_a_stop_is_still_an_error():
    with pytest.raises(NotReady):
        asyncio.run(_topology(should_stop=False).publish("incidents.events", "checkout", b"{}"))
