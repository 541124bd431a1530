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

__all__ = ["REPLAY_STAGES", "Namespace", "replay_overrides", "topic_configs"]

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


def replay_overrides(ns: Namespace, data_dir: Path, web_port: int, *, notify: bool = False) -> dict[str, Any]:
    """Configuration overrides (merged over the user's) for the replay's worker."""
    out: dict[str, Any] = {
        "topic_prefix": ns.prefix, "app_id": ns.app_id, "stages": REPLAY_STAGES,
        "data_dir": str(ns.directory(data_dir)), "web_port": web_port,
        # The replay's worker is the only one of its namespace: its batch loops take every
        # partition without a group join (about 5 s of a replay's start on Tansu).
        "batch_assign_all": True,
        # Alone in its group too: Tansu holds a first JoinGroup for part of these, so
        # shorter ones start the worker sooner (spawn to ready 7.1 s with 10 s, 5.0 s
        # with 6 s, one replay each of the 19,085-line test day); 6 s still lets a busy
        # event loop miss two heartbeats (every 2 s) before the broker gives up on it.
        "session_timeout_s": 6.0,
        "rebalance_timeout_s": 6.0,
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
