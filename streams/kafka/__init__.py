"""The project's one Kafka client layer: building clients, topic administration, reading.

`client` builds every consumer, producer and admin client with one set of settings and
translates "cannot reach the broker"; `admin` creates the declared topics; `reader`
reads a topic without a consumer group. Nothing here knows Faust, the CLI or a stage:
errors are raised as the exceptions below, and callers decide how to report them.

The admin-client factory is `client.admin`; it is not re-exported here, because
`streams.kafka.admin` is the topic administration module.
"""

from __future__ import annotations

from streams.kafka.admin import TopicMismatch, create_changelogs, create_topics, expected_partitions, topic_names
from streams.kafka.client import BrokerUnreachable, bootstrap_of, consumer, producer, quiet_stop, started
from streams.kafka.reader import UnknownTopic, partitions_of, read_topic
from streams.kafka.seek import end_offsets, offset_for_time

__all__ = [
    "BrokerUnreachable",
    "TopicMismatch",
    "UnknownTopic",
    "bootstrap_of",
    "consumer",
    "create_changelogs",
    "create_topics",
    "end_offsets",
    "expected_partitions",
    "offset_for_time",
    "partitions_of",
    "producer",
    "quiet_stop",
    "read_topic",
    "started",
    "topic_names",
]
