"""Faust topic objects for every declared topic, and one way to publish records.

Every topic carries raw bytes (JSON we encode ourselves with pydantic/orjson): no
`faust.Record` decoding on the hot path, and the pure modules never see Faust.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from pydantic import BaseModel

from schemas.records import DeadLetter, encode
from schemas.topics import TOPICS

__all__ = ["Topology"]

log = logging.getLogger(__name__)


class Topology:
    def __init__(self, app: faust.App, partitions: int):
        self.app = app
        self.partitions = partitions
        self.topics: dict[str, faust.TopicT] = {}
        for spec in TOPICS:
            self.topics[spec.name] = self._topic(spec.name, spec.partitions or partitions)

    def _topic(self, name: str, partitions: int) -> faust.TopicT:
        return self.app.topic(
            name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
            partitions=partitions, internal=False,
        )

    def __getitem__(self, name: str) -> faust.TopicT:
        return self.topics[name]

    async def publish(self, topic: str, key: str | bytes | None, record: BaseModel | bytes,
                      partition: int | None = None, wait: bool = True,
                      timestamp: float | None = None) -> Any:
        """Send one record; with `wait`, return only after the broker acknowledged it."""
        value = record if isinstance(record, bytes) else encode(record)
        k = key.encode() if isinstance(key, str) else key
        fut = await self.topics[topic].send(key=k, value=value, partition=partition, timestamp=timestamp)
        if wait:
            return await fut
        return fut

    async def dead_letter(self, letter: DeadLetter) -> None:
        log.warning("dead letter from %s: %s", letter.source_topic, letter.reason,
                    extra={"trace_id": letter.trace_id})
        await self.publish("dead.letter", letter.source_topic, letter)
