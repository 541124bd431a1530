"""The commands that read topics: `tail`, `incidents`, `registry`.

They read without a consumer group (`streams.kafka.reader`), so they need no worker,
take no partitions from one and move no committed offsets. They never write to a topic.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from typing import IO

from streams.errors import CliError
from streams.kafka import read_topic
from streams.readside import fold_incidents, fold_registry

__all__ = ["incidents", "parse_time", "registry", "tail"]


def parse_time(text: str, now: float | None = None) -> float:
    """ISO 8601, epoch seconds, or a relative `-30m` / `-2h` / `-1d` / `-45s`."""
    now = time.time() if now is None else now
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text.startswith("-") and text[-1:] in units:
        try:
            return now - float(text[1:-1]) * units[text[-1]]
        except ValueError:
            pass
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"cannot read the time {text!r}: use ISO 8601, epoch seconds or -30m/-2h/-1d") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


async def tail(broker: str, topic: str, from_beginning: bool, count: int, timeout: float,
               out: IO[str] = sys.stdout, since: str | None = None, until: str | None = None,
               follow: bool = False) -> int:
    """Print `partition:offset<TAB>key<TAB>value` per record.

    Reading from the beginning or from `since` stops at the end of the topic as it was
    when the command started, unless `follow`; reading from the end always follows
    (there is nothing before it to print).
    """
    since_ts = parse_time(since) if since else None
    until_ts = parse_time(until) if until else None
    to_end = (from_beginning or since_ts is not None) and not follow
    async for partition, offset, key, value in read_topic(
        broker, topic, from_beginning=from_beginning, count=count, idle_timeout=timeout,
        since=since_ts, until=until_ts, to_end=to_end,
    ):
        k = key.decode(errors="replace") if key else ""
        v = value.decode(errors="replace") if value else ""
        out.write(f"{partition}:{offset}\t{k}\t{v}\n")
        out.flush()
    return 0


async def incidents(broker: str, command: str, incident_id: str | None) -> int:
    folded = await fold_incidents(broker)
    if command == "list":
        for inc in sorted(folded.values(), key=lambda i: i["opened_at"]):
            print(f"{inc['incident_id']}\t{inc['status']}\t{inc['severity']}\t{inc['service']}\t{inc['title']}")
        return 0
    inc = folded.get(incident_id or "")
    if inc is None:
        raise CliError(f"no incident {incident_id} in incidents.events")
    print(json.dumps(inc, indent=2, sort_keys=True))
    return 0


async def registry(broker: str) -> int:
    for entry in await fold_registry(broker):
        print(f"{entry['entry_id']}\t{entry.get('jira_ticket_id','')}\t{entry.get('last_seen','')}")
    return 0
