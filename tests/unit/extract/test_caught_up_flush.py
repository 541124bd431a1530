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


async def _one_poll(worker: Worker, since_flush_s: float) -> None:
    await worker.assigned()
    worker.loop.last_flush = time.monotonic() - since_flush_s
    await worker.loop.poll_once(timeout_ms=0)


async def test_a_replays_loop_that_read_everything_passes_it_on_without_waiting_for_the_second(broker):
    publish_partial(broker, 0, lines=5)
    worker = Worker(broker)
    worker.loop.flush_when_caught_up = True
    await _one_poll(worker, since_flush_s=CAUGHT_UP_FLUSH_S + 0.05)
    assert len(broker.log(BOOKS)) == 1, "the book's state was not published"
    assert broker.committed.get(TP) == 1, "the partial read was not committed"


async def test_a_live_loop_keeps_its_flush_a_second(broker):
    publish_partial(broker, 0, lines=5)
    worker = Worker(broker)
    await _one_poll(worker, since_flush_s=CAUGHT_UP_FLUSH_S + 0.05)
    assert broker.log(BOOKS) == [] and TP not in broker.committed


async def test_a_replays_loop_behind_the_end_reads_on_before_it_flushes(broker):
    publish_partial(broker, 0, lines=5)
    worker = Worker(broker)
    worker.loop.flush_when_caught_up = True
    worker.consumer.highwater = lambda tp: 2  # the broker says one more record is there
    await _one_poll(worker, since_flush_s=CAUGHT_UP_FLUSH_S + 0.05)
    assert broker.log(BOOKS) == [] and TP not in broker.committed


async def test_a_replays_loop_flushes_at_most_every_tenth_of_a_second(broker):
    publish_partial(broker, 0, lines=5)
    worker = Worker(broker)
    worker.loop.flush_when_caught_up = True
    await _one_poll(worker, since_flush_s=0.0)
    assert broker.log(BOOKS) == [] and TP not in broker.committed
