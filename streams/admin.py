"""Idempotent topic creation with the declared partition counts and configs.

Faust would auto-create topics with its own defaults and Tansu auto-creates with 4
partitions, so a mismatch would silently break co-partitioning. We create every
declared topic up front and refuse to run on a topic whose partition count differs.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from schemas.topics import TOPICS, TopicSpec

__all__ = ["BrokerUnreachable", "TopicMismatch", "create_topics", "expected_partitions", "topic_names"]

log = logging.getLogger(__name__)

class BrokerUnreachable(RuntimeError):
    pass


class TopicMismatch(RuntimeError):
    pass


def expected_partitions(spec: TopicSpec, partitions: int) -> int:
    return spec.partitions or partitions


def topic_names() -> list[str]:
    return [spec.name for spec in TOPICS]


async def create_topics(bootstrap: str, partitions: int, replication: int = 1, timeout: float = 15.0) -> dict[str, str]:
    """Create missing topics; return {topic: "created" | "exists"}. Raises on mismatch."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
    except (KafkaConnectionError, KafkaError, asyncio.TimeoutError, OSError) as exc:
        await _close(admin)
        raise BrokerUnreachable(f"cannot reach the broker at {bootstrap}: {exc.__class__.__name__}") from None
    try:
        existing = set(await admin.list_topics())
        wanted = {s.name: s for s in TOPICS}
        status: dict[str, str] = {}
        new = [
            NewTopic(s.name, expected_partitions(s, partitions), replication, topic_configs=s.configs())
            for s in TOPICS if s.name not in existing
        ]
        for topic in new:
            try:
                await admin.create_topics([topic])
                status[topic.name] = "created"
            except TopicAlreadyExistsError:
                status[topic.name] = "exists"
        present = [n for n in wanted if n in existing]
        # An empty list would describe every topic of the cluster.
        described = await admin.describe_topics(present) if present else []
        for desc in described:
            name = desc["topic"]
            have = len(desc["partitions"])
            want = expected_partitions(wanted[name], partitions)
            if have != want:
                raise TopicMismatch(
                    f"topic {name} has {have} partitions but the configuration says {want}; "
                    f"co-partitioning needs them equal (set partitions = {have}, or recreate the topic)"
                )
            status[name] = "exists"
        return status
    finally:
        await _close(admin)


async def _close(admin: AIOKafkaAdminClient) -> None:
    try:
        await admin.close()
    except Exception:  # noqa: BLE001 - closing a half-started client
        pass
