"""Faust topic objects for every declared topic, and one way to publish records.

Every topic carries raw bytes (JSON we encode ourselves with pydantic/orjson): no
`faust.Record` decoding on the hot path, and the pure modules never see Faust.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from faust.exceptions import NotReady
from pydantic import BaseModel

from agents.redact import redact
from schemas.records import DeadLetter, encode
from schemas.topics import TOPICS

__all__ = ["Topology", "dead_letter_of"]

PAYLOAD_CHARS = 2000


def dead_letter_of(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, *,
                   stage: str, reason: str, error: BaseException | str, trace_id: str = "") -> DeadLetter:
    """The dead letter for one record. The payload is truncated and redacted (what failed
    to parse may hold secrets); the error names the exception type, never a secret."""
    value = value or b""
    text = error if isinstance(error, str) else f"{error.__class__.__name__}: {error}"
    return DeadLetter(
        source_topic=topic, partition=partition, offset=offset,
        key=(key or b"").decode(errors="replace"), stage=stage, reason=reason, error=redact(text)[:500],
        payload=redact(value[:PAYLOAD_CHARS].decode(errors="replace")), payload_bytes=len(value),
        trace_id=trace_id)

log = logging.getLogger(__name__)


class Topology:
    """The declared topics of one namespace. Stages speak logical names ("logs.raw");
    `prefix` (configuration `topic_prefix`, a replay's namespace) makes the physical ones,
    so a replay runs the same stages on topics of its own."""

    def __init__(self, app: faust.App, partitions: int, prefix: str = ""):
        self.app = app
        self.partitions = partitions
        self.prefix = prefix
        self.topics: dict[str, faust.TopicT] = {}
        for spec in TOPICS:
            self.topics[spec.name] = self._topic(self.physical(spec.name), spec.partitions or partitions)

    def physical(self, name: str) -> str:
        """The broker's name of a logical topic in this namespace."""
        return self.prefix + name

    def logical(self, name: str) -> str:
        """The logical name of a physical topic of this namespace (others unchanged)."""
        return name[len(self.prefix):] if self.prefix and name.startswith(self.prefix) else name

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
        try:
            fut = await self.topics[topic].send(key=k, value=value, partition=partition, timestamp=timestamp)
            if wait:
                return await fut
        except NotReady:
            if not self.app.should_stop:
                raise
            # Stopping (Ctrl-C, SIGTERM), the producer already gone: the work in hand is
            # cancelled, not crashed. Its input was not acknowledged, so it is done again
            # after the restart (ids are deterministic: nothing twice). Raised as a crash,
            # this made `logwarden up` exit 1 on Ctrl-C now and then.
            raise asyncio.CancelledError from None
        return fut

    async def reject(self, event: Any, stage: str, reason: str, error: BaseException | str,
                     key: str | None = None, trace_id: str = "") -> None:
        """Send the Faust event being processed to the dead-letter topic with the reason."""
        msg = event.message
        await self.dead_letter(dead_letter_of(
            self.logical(msg.topic), msg.partition, msg.offset, event.key if key is None else key.encode(), event.value,
            stage=stage, reason=reason, error=error, trace_id=trace_id))

    async def dead_letter(self, letter: DeadLetter) -> None:
        log.warning("dead letter from %s: %s", letter.source_topic, letter.reason,
                    extra={"trace_id": letter.trace_id})
        await self.publish("dead.letter", letter.source_topic, letter)
