"""What a channel reports after one attempt, and the protocol every channel follows.

Channels classify, the notifier retries: a channel makes one attempt and says whether it
was delivered, may be retried (and after how long) or failed for good. This module must
never import a vendor SDK, faust or aiokafka, and a `DeliveryResult.error` must never
carry a secret (webhook URL, token, key): channels build it from status codes and vendor
error codes only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Protocol

from schemas.records import OutboxMessage

__all__ = ["IN_DOUBT", "Channel", "DeliveryResult", "RateRule"]

# Reserved memory entry the notifier adds when an earlier attempt of this very delivery
# may have reached the vendor (a worker died between sending and remembering it).
IN_DOUBT = "_in_doubt"


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Literal["delivered", "retryable", "permanent"]
    external_ref: str = ""  # Slack ts, Telegram message id, Jira key, PagerDuty dedup_key
    # Short machine-readable reason for failures: "http_503", "network", "slack_ratelimited".
    reason: str = ""
    error: str = ""  # human-readable, never a secret
    retry_after: float | None = None  # seconds the vendor asked us to wait
    # What the channel wants remembered for this incident (merged into its memory).
    remember: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def delivered(cls, external_ref: str = "", remember: Mapping[str, str] | None = None) -> DeliveryResult:
        return cls("delivered", external_ref=external_ref, remember=dict(remember or {}))

    @classmethod
    def retryable(cls, reason: str, error: str = "", retry_after: float | None = None,
                  remember: Mapping[str, str] | None = None) -> DeliveryResult:
        return cls("retryable", reason=reason, error=error or reason, retry_after=retry_after,
                   remember=dict(remember or {}))

    @classmethod
    def permanent(cls, reason: str, error: str = "",
                  remember: Mapping[str, str] | None = None) -> DeliveryResult:
        return cls("permanent", reason=reason, error=error or reason, remember=dict(remember or {}))


@dataclass(frozen=True)
class RateRule:
    """At most `limit` sends per `per_s` seconds for everything sharing `key`."""

    key: str
    limit: int
    per_s: float


class Channel(Protocol):
    name: str
    # Limits the notifier enforces before each attempt of this channel.
    rate_rules: tuple[RateRule, ...]

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        """One attempt. `memory` is what this channel remembered for the incident."""

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        """True when sending `msg` again cannot produce a second message at the vendor."""
