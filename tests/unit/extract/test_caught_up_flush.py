"""A batch loop of a replay's worker passes on what it read once it has read every partition
to its end (`batch_flush_when_caught_up`), not at the next one-second flush; live it keeps
the one flush a second. The window stage's real batch loop and book over the in-memory
broker of `test_inflight_rebalance`.

Seen in a replay of the 19,085-line test day: every line was read 0.1 s after the worker
was ready, and the first partial reached the window books 1.1 s after it, at the loop's
first flush.
"""

from __future__ import annotations

import time

from agents.extract.books import BOOKS
from streams.kafka.batch import CAUGHT_UP_FLUSH_S, FLUSH_INTERVAL_S

from .test_inflight_rebalance import TP, Worker, broker, publish_partial  # noqa: F401 - broker is a fixture

assert CAUGHT_UP_FLUSH_S < FLUSH_INTERVAL_S


async def _loop(broker, *, replay: bool, since_flush_s: float) -> Worker:
    """A partial of 5 lines in the topic, and a worker's loop (a replay's or a live one)
    assigned to it, its last flush `since_flush_s` ago."""
    publish_partial(broker, 0, lines=5)
    worker = Worker(broker)
    worker.loop.flush_when_caught_up = replay
    await worker.assigned()
    worker.loop.last_flush = time.monotonic() - since_flush_s
    return worker


def _nothing_passed_on(broker) -> bool:
    return broker.log(BOOKS) == [] and TP not in broker.committed


async def test_a_replays_loop_that_read_everything_passes_it_on_without_waiting_for_the_second(broker):
    worker = await _loop(broker, replay=True, since_flush_s=CAUGHT_UP_FLUSH_S + 0.05)
    await worker.loop.poll_once(timeout_ms=0)
    assert len(broker.log(BOOKS)) == 1, "the book's state was not published"
    assert broker.committed.get(TP) == 1, "the partial read was not committed"


async def test_a_live_loop_keeps_its_flush_a_second(broker):
    worker = await _loop(broker, replay=False, since_flush_s=CAUGHT_UP_FLUSH_S + 0.05)
    await worker.loop.poll_once(timeout_ms=0)
    assert _nothing_passed_on(broker)


async def test_a_replays_loop_behind_the_end_reads_on_before_it_flushes(broker):
    worker = await _loop(broker, replay=True, since_flush_s=CAUGHT_UP_FLUSH_S + 0.05)
    worker.consumer.highwater = lambda tp: 2  # the broker says one more record is there
    await worker.loop.poll_once(timeout_ms=0)
    assert _nothing_passed_on(broker)


async def test_a_replays_loop_flushes_at_most_every_tenth_of_a_second(broker):
    worker = await _loop(broker, replay=True, since_flush_s=0.0)
    await worker.loop.poll_once(timeout_ms=0)
    assert _nothing_passed_on(broker)
