"""Accepted records to the event log, in batches, acknowledged before the answer.

Straight to the Faust app's producer: `Topic.send` checks that the producer has started
behind a stampede guard that gives the event loop three turns per record, so aiokafka
sent nearly every record in a request of its own (99k lines: 40 s and 500 MB). Here the
check is made once per batch, at most `PUBLISH_BATCH` producer futures are held at once,
and the loop gets a turn every `SENDS_PER_TURN` sends (~100 µs each). Must never report
success before the broker acknowledged every record.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Sequence

from pydantic import BaseModel

from agents.gateway.steps import paused_gc
from schemas.records import encode

__all__ = ["PUBLISH_BATCH", "publish_all"]

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
PUBLISH_BATCH = 1000
SENDS_PER_TURN = 32


async def publish_all(app: Any, topic: str, records: Sequence[tuple[str | bytes, bytes | BaseModel]]) -> bool:
    """True once the broker acknowledged every record of `topic` (a topic name); False on any failure."""
    try:
        for start in range(0, len(records), PUBLISH_BATCH):
            producer = await app.maybe_start_producer()
            futures = []
            for key, value in records[start:start + PUBLISH_BATCH]:
                with paused_gc():
                    futures.append(await producer.send(topic, key.encode() if isinstance(key, str) else key,
                                                       value if isinstance(value, bytes) else encode(value),
                                                       None, None, None))
                if len(futures) % SENDS_PER_TURN == 0:
                    await asyncio.sleep(0)
            await asyncio.wait_for(asyncio.gather(*futures), PUBLISH_TIMEOUT_S)
        return True
    except Exception as exc:  # noqa: BLE001 - any producer failure means: not accepted
        log.warning("gateway publish failed: %s", exc.__class__.__name__)
        return False
