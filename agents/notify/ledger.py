"""What the notifier remembers across restarts, kept in one mutable mapping (a Faust
changelogged table in production, a dict in tests):

- `delivery|<outbox key>|<channel>` -> {"state": "sending"|"delivered"|"failed", "at", "ref"}:
  a delivered key is skipped on redelivery for `delivered_ttl_s`; "sending" left behind
  means a worker died mid-delivery, so the vendor may already have it ("in doubt").
- `memory|<channel>|<incident id>` -> {"at", "data": {...}}: Slack ts, Telegram message
  id, Jira key, ... so later messages edit or comment instead of creating.

Values are always replaced, never mutated in place: a Faust table only changelogs an
assignment. Must never store message text or secrets.
"""

from __future__ import annotations

from typing import Literal, Mapping, MutableMapping

__all__ = ["DeliveryLedger"]

State = Literal["sending", "delivered", "failed"]


class DeliveryLedger:
    def __init__(self, store: MutableMapping[str, dict], delivered_ttl_s: float,
                 memory_ttl_s: float) -> None:
        self.store = store
        self.delivered_ttl_s = delivered_ttl_s
        self.memory_ttl_s = memory_ttl_s

    @staticmethod
    def delivery_key(key: str, channel: str) -> str:
        return f"delivery|{key}|{channel}"

    @staticmethod
    def memory_key(channel: str, incident_id: str) -> str:
        return f"memory|{channel}|{incident_id}"

    def delivery(self, key: str, channel: str, now: float) -> dict | None:
        entry = self.store.get(self.delivery_key(key, channel))
        if entry is None or now - entry.get("at", 0.0) > self.delivered_ttl_s:
            return None
        return entry

    def mark(self, key: str, channel: str, state: State, now: float, ref: str = "") -> None:
        self.store[self.delivery_key(key, channel)] = {"state": state, "at": now, "ref": ref}

    def memory(self, channel: str, incident_id: str, now: float) -> dict[str, str]:
        if not incident_id:
            return {}
        entry = self.store.get(self.memory_key(channel, incident_id))
        if entry is None or now - entry.get("at", 0.0) > self.memory_ttl_s:
            return {}
        return dict(entry.get("data", {}))

    def remember(self, channel: str, incident_id: str, updates: Mapping[str, str], now: float) -> None:
        if not incident_id or not updates:
            return
        data = self.memory(channel, incident_id, now) | {k: str(v) for k, v in updates.items()}
        self.store[self.memory_key(channel, incident_id)] = {"at": now, "data": data}

    def expire(self, now: float) -> int:
        """Delete entries past their TTL; returns how many. Call from inside the stream."""
        expired = []
        for name, entry in list(self.store.items()):
            ttl = self.memory_ttl_s if name.startswith("memory|") else self.delivered_ttl_s
            if now - entry.get("at", 0.0) > ttl:
                expired.append(name)
        for name in expired:
            del self.store[name]
        return len(expired)
