"""Faust's wait for taken records before a rebalance or a stop (`streams.app._bounded_wait_empty`).

The two-worker test on a loaded machine: a record of `signals.windows` stayed unacknowledged
by one of the three stages it was delivered to while no handler worked on anything, and the
rebalance waited for it with no end. The wait must end when no handler holds a record, and
must go on while one does (the partition must not change hands under a write).
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from streams import app as app_module
from streams import stage


class _Consumer:
    """What `wait_empty` touches of Faust's consumer: the taken records, commit, the ack wait."""

    def __init__(self, messages: list, acked_after_waits: int | None = None):
        self._unacked_messages = set(messages)
        self.should_stop = False
        self.diag = SimpleNamespace(set_flag=lambda flag: None, unset_flag=lambda flag: None)
        self.waits = 0
        self.final_commits = 0
        self._acked_after = acked_after_waits

    async def commit(self) -> bool:
        return True

    async def _wait_for_ack(self, timeout: float) -> None:
        self.waits += 1
        await asyncio.sleep(0.01)
        if self._acked_after is not None and self.waits >= self._acked_after:
            for message in self._unacked_messages:
                message.acked = True

    def _clean_unacked_messages(self) -> None:
        self._unacked_messages = {m for m in self._unacked_messages if not m.acked}

    async def commit_and_end_transactions(self) -> None:
        self.final_commits += 1


class _Message:  # hashable, as Faust's messages are (the consumer keeps them in a set)
    def __init__(self, offset: int):
        self.tp = SimpleNamespace(topic="signals.windows", partition=1)
        self.offset, self.acked = offset, False


def _message(offset: int) -> _Message:
    return _Message(offset)


@pytest.fixture()
def wait_empty(monkeypatch):
    from faust.transport.consumer import Consumer

    monkeypatch.setattr(Consumer, "wait_empty", Consumer.wait_empty)  # put Faust's back after the test
    app_module._bounded_wait_empty()
    monkeypatch.setattr(app_module, "ORPHAN_WAIT_S", 0.2)
    return Consumer.wait_empty


def test_a_record_no_handler_holds_ends_the_wait_and_says_which(wait_empty, caplog):
    consumer = _Consumer([_message(14)])  # never acknowledged
    with caplog.at_level(logging.WARNING, logger="streams.app"):
        asyncio.run(asyncio.wait_for(wait_empty(consumer), timeout=10))
    assert consumer.final_commits == 1  # what was acknowledged is still committed
    assert consumer._unacked_messages  # not pretended done: it stays uncommitted
    assert any("signals.windows[1]@14" in r.getMessage() and "held by no handler" in r.getMessage()
               for r in caplog.records)


def test_while_a_handler_works_the_wait_is_fausts_own(wait_empty, monkeypatch):
    # A handler has a record in hand for 60 ack waits (far longer than ORPHAN_WAIT_S at
    # 10 ms each): the wait goes on until the record is acknowledged.
    monkeypatch.setattr(stage, "_in_hand", 1)
    consumer = _Consumer([_message(3)], acked_after_waits=60)
    asyncio.run(asyncio.wait_for(wait_empty(consumer), timeout=10))
    assert consumer.waits == 60 and not consumer._unacked_messages and consumer.final_commits == 1
