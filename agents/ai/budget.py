"""Hourly call and token budget for model calls, over a sliding one-hour window.

The clock is passed in (`now`, epoch seconds). Over budget means "answer locally",
never "wait". Memory is bounded by the number of calls allowed per hour.
"""

from __future__ import annotations

from collections import deque

__all__ = ["HourlyBudget"]

WINDOW_S = 3600.0


class HourlyBudget:
    def __init__(self, max_calls: int, max_tokens: int) -> None:
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self._calls: deque[list[float]] = deque()  # [at, tokens], tokens corrected after the call
        self._tokens = 0

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0][0] <= now - WINDOW_S:
            _, tokens = self._calls.popleft()
            self._tokens -= int(tokens)

    def refusal(self, now: float, estimated_tokens: int) -> str:
        """Why a call of about `estimated_tokens` may not be made now; "" when it may."""
        self._expire(now)
        if len(self._calls) >= self.max_calls:
            return f"calls_per_hour:{self.max_calls}"
        if self._tokens + estimated_tokens > self.max_tokens:
            return f"tokens_per_hour:{self.max_tokens}"
        return ""

    def record(self, now: float, tokens: int) -> list[float]:
        """Count a call made now, with an estimate; `correct` it when the usage is known.

        Counting before the call means concurrent requests cannot all pass the check.
        """
        self._expire(now)
        entry = [now, float(tokens)]
        self._calls.append(entry)
        self._tokens += tokens
        return entry

    def correct(self, entry: list[float], tokens: int) -> None:
        if entry in self._calls:
            self._tokens += tokens - int(entry[1])
            entry[1] = float(tokens)

    @property
    def tokens_used(self) -> int:
        return self._tokens

    @property
    def calls_used(self) -> int:
        return len(self._calls)
