"""Where a replay runs: its topic prefix, consumer groups, data directory and configuration.

Pure. The overrides make the replay's worker configuration from the user's: every topic
under the prefix, `app_id` (groups, changelogs) its own, no ticks, no web of the live
worker's port, and notifications to a JSON Lines file instead of people unless asked.

The namespace's topics keep their records whatever their age: a replay writes records
stamped with the event time of the past (the extractor counts lines by their record
timestamp), and a broker that enforces time retention (Apache Kafka; Tansu's memory
engine does not) deletes records older than `retention.ms` at its next retention check
(every 5 minutes by default), often before the replay's worker has read them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.topics import TopicSpec

__all__ = ["REPLAY_STAGES", "Namespace", "replay_overrides", "session_timeout_s", "topic_configs"]

# No ticks (time comes from the input), no gateway (nothing is sent to a replay), and the
# AI stage is the replay's own (recorded answers first: `streams.replay.answers`).
REPLAY_STAGES = ["web", "extract", "incidents", "notify"]


@dataclass(frozen=True)
class Namespace:
    replay_id: str

    @classmethod
    def new(cls, label: str = "", now: float | None = None) -> "Namespace":
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() if now is None else now))
        suffix = re.sub(r"[^A-Za-z0-9-]+", "-", label).strip("-")
        return cls(f"{stamp}-{suffix}" if suffix else stamp)

    @property
    def prefix(self) -> str:
        return f"replay.{self.replay_id}."

    @property
    def app_id(self) -> str:
        return f"logwarden-replay-{self.replay_id}"

    def directory(self, data_dir: Path) -> Path:
        return Path(data_dir) / "replays" / self.replay_id


# The replay's worker is alone in its consumer group, and Tansu holds a first JoinGroup
# for half the session timeout: a short one starts the worker sooner (spawn to ready
# 7.1 s with 10 s, 5.0 s with 6 s, 3.9-4.1 s with 3 s, 2.8-3.0 s with 2 s: replays of the
# 199,085-line test day). Heartbeats (every third of it) go from the consumer's own
# thread, not the busy event loop, so 2 s still lets two of them be missed.
SHORT_SESSION_S = 2.0
# A broker refuses a JoinGroup under its `group.min.session.timeout.ms` (6,000 ms by
# default in Apache Kafka's broker configuration reference, and in Redpanda's
# `group_min_session_timeout_ms`), and the worker then never joins: a broker that does
# not say its own least gets this one.
KAFKA_LEAST_DEFAULT_S = 6.0
TANSU_CLUSTER_ID = "tansu_cluster"  # Tansu's DescribeCluster answer; its DescribeConfigs lists nothing


def session_timeout_s(least_ms: int | None, cluster_id: str) -> float:
    """The replay worker's consumer group session timeout, from what the broker says of
    itself: its least allowed when it says one, the short one on Tansu (which has none),
    Kafka's default least otherwise."""
    if least_ms is not None:
        return max(SHORT_SESSION_S, least_ms / 1000)
    return SHORT_SESSION_S if cluster_id == TANSU_CLUSTER_ID else KAFKA_LEAST_DEFAULT_S


def replay_overrides(ns: Namespace, data_dir: Path, web_port: int, *, notify: bool = False,
                     session_s: float = KAFKA_LEAST_DEFAULT_S) -> dict[str, Any]:
    """Configuration overrides (merged over the user's) for the replay's worker;
    `session_s` from `session_timeout_s`."""
    out: dict[str, Any] = {
        "topic_prefix": ns.prefix, "app_id": ns.app_id, "stages": REPLAY_STAGES,
        "data_dir": str(ns.directory(data_dir)), "web_port": web_port,
        # The replay's worker is the only one of its namespace: its batch loops take every
        # partition without a group join (about 5 s of a replay's start on Tansu).
        "batch_assign_all": True,
        # Its input is all there (or sent as fast as it can be): each hop passes on what it
        # has once it has read to the end, not at the next second.
        "batch_flush_when_caught_up": True,
        # Alone in its group too (`session_timeout_s`).
        "session_timeout_s": session_s,
        "rebalance_timeout_s": session_s,
        # Digests from every part of their period, once the input has ended: partitions
        # read unevenly must not make parts late (`agents/periods.py`).
        "incidents": {"digest_at_end_of_input": True},
    }
    if not notify:
        out["notify"] = {"routes": [{"channels": ["console"]}], "fallback_channels": ["console"],
                         "console": {"path": "notifications.jsonl", "print": False}}
    return out


def topic_configs(spec: TopicSpec) -> dict[str, str]:
    """The configs of a namespace topic: the declared ones, with no time retention."""
    configs = dict(spec.configs())
    if configs.get("cleanup.policy", "delete") == "delete":
        configs["retention.ms"] = "-1"
    return configs
