"""Answer cache: task + fingerprint (or content hash) -> validated output, with a TTL.

Classification is cached by fingerprint alone, so a fingerprint is sent to a model once
per TTL however many windows it appears in; other tasks, and a classification that also
asks for an incident's first summary, by a hash of their redacted input. Bounded: the oldest entries go first. The clock is passed in.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

__all__ = ["AnswerCache", "cache_key"]


def cache_key(task: str, fingerprint: str, data: dict[str, Any]) -> str:
    if task == "classify" and fingerprint and not data.get("incident"):
        return f"classify|{fingerprint}"
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"{task}|{fingerprint}|{digest}"


class AnswerCache:
    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, dict[str, Any], str]] = OrderedDict()

    def get(self, key: str, now: float) -> tuple[dict[str, Any], str] | None:
        """(output, model) when fresh."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, output, model = entry
        if now - stored_at >= self.ttl_s:
            del self._entries[key]
            return None
        return dict(output), model

    def put(self, key: str, now: float, output: dict[str, Any], model: str) -> None:
        if self.ttl_s <= 0:
            return
        self._entries[key] = (now, dict(output), model)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
