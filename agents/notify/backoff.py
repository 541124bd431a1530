"""The retry schedule: capped exponential backoff with full jitter, or the vendor's
Retry-After when it gave one. Pure: the random source is passed in.
"""

from __future__ import annotations

from typing import Callable

from agents.notify.config import RetrySettings

__all__ = ["retry_delay"]


def retry_delay(attempt: int, settings: RetrySettings, rng: Callable[[], float],
                retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    if retry_after is not None:
        # The vendor knows its window; jitter on top would only make us later.
        return retry_after
    ceiling = min(settings.cap_s, settings.base_s * 2 ** (attempt - 1))
    return rng() * ceiling
