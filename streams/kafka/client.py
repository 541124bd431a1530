"""One way to build Kafka clients, and one translation of "cannot reach the broker".

Every aiokafka consumer, producer and admin client of the project is built here, with
one set of settings (timeouts, fetch and request sizes), so the CLI, the read side, the
batch extraction loop and the benchmark talk to the broker the same way.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError

__all__ = ["FETCH_MAX_WAIT_MS", "BrokerUnreachable", "admin", "bootstrap_of", "consumer", "no_topic_auto_creation",
           "producer", "quiet_stop", "started"]

MAX_RECORD_BYTES = 16 * 1024 * 1024
CONNECT_TIMEOUT_S = 15.0
# How long the broker may hold a fetch that has nothing to return. Kafka answers as soon
# as a record arrives whatever this is; the embedded Tansu holds the fetch for part of it
# even when records arrive (measured: a record produced 50 ms into a fetch of 1,500 ms
# (Faust's fixed value) was read 700 ms later; with 100 ms, in 3-26 ms). Each topic hop
# of the pipeline paid that wait: about a second of every first page, and of every
# replay. The cost: an idle consumer sends up to 10 fetches a second.
FETCH_MAX_WAIT_MS = 100

C = TypeVar("C")


def no_topic_auto_creation() -> None:
    """Every metadata request of this process asks the broker not to create the topics it
    names. aiokafka asks for creation on every request (Kafka and Tansu both create such a
    topic with their default partition count, measured: a consumer subscribing to a missing
    topic created it), so a worker whose broker came back without its topics (Tansu's
    memory storage, a deleted topic) made them again itself: `incidents.digest` with 4
    partitions instead of 1, and the incident stages' co-partitioning broken without a word.
    A worker's topics are created only by `create_topics`, with their declared counts (at
    start, and again when the broker is back after an outage). Once per process."""
    import aiokafka.client as aiokafka_client
    from aiokafka.protocol.metadata import MetadataRequest

    if getattr(aiokafka_client.MetadataRequest, "logwarden_no_auto_creation", False):
        return

    class _NoAutoCreation(MetadataRequest):
        logwarden_no_auto_creation = True

        def __init__(self, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = False):
            super().__init__(topics, allow_auto_topic_creation)

    aiokafka_client.MetadataRequest = _NoAutoCreation


class BrokerUnreachable(RuntimeError):
    """The broker did not answer; the message names the address and the error type only."""


def bootstrap_of(broker: str) -> str:
    """`kafka://host:port` (Faust's form) or `host:port` -> `host:port`."""
    return broker.removeprefix("kafka://")


def consumer(broker: str, *, group: str | None = None, **overrides: Any) -> AIOKafkaConsumer:
    """A consumer with the project's settings; `group=None` reads without a group."""
    settings: dict[str, Any] = dict(
        bootstrap_servers=bootstrap_of(broker), group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_bytes=32 * 1024 * 1024,
        max_partition_fetch_bytes=MAX_RECORD_BYTES, fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    settings.update(overrides)
    return AIOKafkaConsumer(**settings)


def producer(broker: str, **overrides: Any) -> AIOKafkaProducer:
    """A producer that waits for every replica (`acks=all`) and takes records up to 16 MiB."""
    settings: dict[str, Any] = dict(
        bootstrap_servers=bootstrap_of(broker), acks="all", linger_ms=5,
        max_request_size=MAX_RECORD_BYTES, request_timeout_ms=15000,
    )
    settings.update(overrides)
    return AIOKafkaProducer(**settings)


def admin(broker: str, timeout: float = CONNECT_TIMEOUT_S) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap_of(broker), request_timeout_ms=int(timeout * 1000))


async def quiet_stop(client: Any) -> None:
    """Stop or close a client that may be half started; never raises."""
    try:
        close = getattr(client, "stop", None) or client.close
        await close()
    except Exception:  # noqa: BLE001 - closing a half-started client
        pass


async def started(client: C, broker: str, timeout: float = CONNECT_TIMEOUT_S) -> C:
    """Start a client; an unreachable broker becomes `BrokerUnreachable` (client closed)."""
    try:
        await asyncio.wait_for(client.start(), timeout)  # type: ignore[attr-defined]
    except (KafkaConnectionError, KafkaError, asyncio.TimeoutError, OSError) as exc:
        await quiet_stop(client)
        raise BrokerUnreachable(f"cannot reach the broker at {bootstrap_of(broker)}: {exc.__class__.__name__}") from None
    return client
