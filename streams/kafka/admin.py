"""Idempotent topic creation with the declared partition counts and configs.

Faust would auto-create topics with its own defaults and Tansu auto-creates with 4
partitions, so a mismatch would silently break co-partitioning. We create every
declared topic up front and refuse to run on a topic whose partition count differs.

Never deletes, alters or re-partitions a topic: a mismatch is reported, not repaired.
"""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.topics import TOPICS, TopicSpec
from streams.kafka import client

__all__ = ["TopicMismatch", "create_changelogs", "create_topics", "expected_partitions", "least_session_timeout",
           "topic_names"]


class TopicMismatch(RuntimeError):
    """An existing topic has another partition count than the configuration says."""


def expected_partitions(spec: TopicSpec, partitions: int) -> int:
    return spec.partitions or partitions


def topic_names() -> list[str]:
    return [spec.name for spec in TOPICS]


async def create_topics(broker: str, partitions: int, replication: int = 1,
                        timeout: float = client.CONNECT_TIMEOUT_S, prefix: str = "") -> dict[str, str]:
    """Create missing topics, each named `prefix` + its declared name (a namespace, as a
    replay's); return {topic: "created" | "exists"}.

    Raises `BrokerUnreachable` when the broker does not answer, `TopicMismatch` when an
    existing topic has another partition count.
    """
    admin = await client.started(client.admin(broker, timeout), broker, timeout)
    try:
        existing = set(await admin.list_topics())
        wanted = {prefix + s.name: s for s in TOPICS}
        status: dict[str, str] = {}
        new = [
            NewTopic(name, expected_partitions(s, partitions), replication, topic_configs=s.configs())
            for name, s in wanted.items() if name not in existing
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
        await client.quiet_stop(admin)


async def create_changelogs(broker: str, changelogs: list[tuple[str, int]], replication: int = 1,
                            timeout: float = client.CONNECT_TIMEOUT_S) -> dict[str, str]:
    """Create the tables' changelog topics (compacted) before the worker joins its group.

    Faust creates them itself, but on Kafka a worker could join the group first: the
    assignor then ignored the missing topic and, for a moment, the stage failed records
    with `PartitionsMismatch` (they went to the dead-letter topic: notifications lost).
    `changelogs`: (topic name, partitions). An existing topic is left as it is.
    """
    admin = await client.started(client.admin(broker, timeout), broker, timeout)
    try:
        existing = set(await admin.list_topics())
        status: dict[str, str] = {}
        for name, partitions in changelogs:
            if name in existing:
                status[name] = "exists"
                continue
            try:
                await admin.create_topics([NewTopic(name, partitions, replication,
                                                    topic_configs={"cleanup.policy": "compact"})])
                status[name] = "created"
            except TopicAlreadyExistsError:
                status[name] = "exists"
        return status
    finally:
        await client.quiet_stop(admin)


async def least_session_timeout(admin: AIOKafkaAdminClient) -> tuple[int | None, str]:
    """The broker's `group.min.session.timeout.ms` (None when it does not say: Tansu's
    DescribeConfigs lists nothing), and its cluster id."""
    cluster = await admin.describe_cluster()
    cluster_id = str(cluster.get("cluster_id") or "")
    brokers = cluster.get("brokers") or []
    if not brokers:
        return None, cluster_id
    try:
        answers = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER,
                                                               str(brokers[0]["node_id"]))])
    except KafkaError:
        answers = []
    least = None
    for answer in answers:
        for resource in answer.to_object()["resources"]:
            for entry in resource["config_entries"]:
                if entry["config_names"] == "group.min.session.timeout.ms" and entry["config_value"]:
                    least = int(entry["config_value"])
    return least, cluster_id
