"""Per-destination send rate limits (e.g. Slack about 1/s per webhook, Telegram 1/s per
chat and 20/min per group), as reservations on an injected clock.

`reserve` books the earliest slot that satisfies every rule and says how long to wait
for it; the caller sleeps. Pure: never sleeps and never reads the wall clock itself.
"""

from __future__ import annotations

import bisect
from typing import Iterable

from agents.notify.delivery import RateRule

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self) -> None:
        # key -> the latest `limit` reserved send times, sorted.
        self._booked: dict[str, list[float]] = {}

    def reserve(self, rules: Iterable[RateRule], now: float) -> float:
        rules = list(rules)
        slot = now
        for rule in rules:
            booked = self._booked.get(rule.key, [])
            if len(booked) >= rule.limit:
                slot = max(slot, booked[-rule.limit] + rule.per_s)
        for rule in rules:
            booked = self._booked.setdefault(rule.key, [])
            bisect.insort(booked, slot)
            del booked[:-rule.limit]
        return slot - now
