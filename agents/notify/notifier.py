"""The notify stage's core: route an outbox record, deliver it to each channel at most
once, retry in the one retry loop, and report one receipt per channel.

Channels run concurrently, so a slow or failing channel never holds up the others.
Each attempt is preceded by the channel's rate limits; retryable failures are retried
with capped exponential backoff and full jitter (or the vendor's Retry-After) until
`max_attempts` or the deadline. Clock, sleep and randomness are injected.
Must never put a secret in a receipt, a dead letter or a log record, and never mutate
a stored value in place (see `ledger`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Awaitable, Callable, Mapping, MutableMapping

import httpx

from agents.notify import metrics
from agents.notify.backoff import retry_delay
from agents.notify.channels import CHANNELS
from agents.notify.config import NotifyConfig
from agents.notify.delivery import IN_DOUBT, Channel, DeliveryResult
from agents.notify.ledger import DeliveryLedger
from agents.notify.ratelimit import RateLimiter
from agents.notify.routing import route
from agents.notify.secrecy import SecretLogFilter, scrub
from schemas.records import DeadLetter, OutboxMessage, Receipt, encode

__all__ = ["Notifier"]

log = logging.getLogger("agents.notify")


class Notifier:
    def __init__(self, cfg: NotifyConfig, *, store: MutableMapping[str, dict],
                 http_client: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] = random.random,
                 channels: Mapping[str, Channel] | None = None) -> None:
        """`channels` replaces the registry-built channel of the same name (tests)."""
        self.cfg = cfg
        self.sleep, self.clock, self.rng = sleep, clock, rng
        self._owns_client = http_client is None
        self.client = http_client or httpx.AsyncClient(timeout=cfg.retry.timeout_s)
        self.configured = cfg.configured_channels()
        self.channels: dict[str, Channel] = {
            name: CHANNELS[name](cfg, self.client) for name in self.configured}
        self.channels.update(channels or {})
        self.ledger = DeliveryLedger(store, cfg.delivered_ttl_s, cfg.memory_ttl_s)
        self.limiter = RateLimiter()
        self.secrets = cfg.secrets()
        self._log_filter = SecretLogFilter(self.secrets)
        self._log_filter.install()

    async def deliver(self, msg: OutboxMessage) -> list[Receipt]:
        """One receipt per routed channel, in routing order. Never raises for a channel."""
        names = route(msg, self.cfg, self.channels)
        return list(await asyncio.gather(*(self._deliver_to(msg, name) for name in names)))

    def failed_dead_letters(self, msg: OutboxMessage, receipts: list[Receipt]) -> list[DeadLetter]:
        """Dead letters for the failed receipts; each payload targets only its channel,
        so replaying it from the dead-letter topic retries just what failed."""
        letters = []
        for receipt in receipts:
            if receipt.status != "failed":
                continue
            payload = encode(msg.model_copy(update={"channels": [receipt.channel]})).decode()
            letters.append(DeadLetter(
                source_topic="notify.outbox", key=msg.key, stage="notify",
                reason=receipt.error.partition(":")[0] or "failed",
                error=f"{receipt.channel}: {receipt.error}", payload=payload[:20_000],
                payload_bytes=len(payload.encode()), at=receipt.at))
        return letters

    def expire(self) -> int:
        """Forget delivered keys and incident memory past their TTL."""
        return self.ledger.expire(self.clock())

    async def aclose(self) -> None:
        self._log_filter.uninstall()
        if self._owns_client:
            await self.client.aclose()

    async def _deliver_to(self, msg: OutboxMessage, name: str) -> Receipt:
        started = self.clock()
        receipt = Receipt(key=msg.key, channel=name, status="failed", incident_id=msg.incident_id,
                          kind=msg.kind, attempts=0, at=started)
        previous = self.ledger.delivery(msg.key, name, started)
        if previous is not None and previous["state"] == "delivered":
            metrics.DUPLICATES_SKIPPED.labels(name).inc()
            return receipt.model_copy(update={"status": "duplicate_skipped",
                                              "external_ref": previous.get("ref", "")})
        channel = self.channels.get(name)
        if channel is None:
            metrics.FAILED.labels(name, "channel_not_configured").inc()
            return receipt.model_copy(update={"error": "channel_not_configured"})
        memory = self.ledger.memory(name, msg.incident_id, started)
        if previous is not None and previous["state"] == "sending":
            if not channel.vendor_deduplicates(msg, memory):
                metrics.POSSIBLE_DUPLICATES.labels(name).inc()
            memory[IN_DOUBT] = "1"
        self.ledger.mark(msg.key, name, "sending", started)
        result, attempts = await self._attempts(msg, channel, memory, started)
        now = self.clock()
        metrics.DELIVERY_SECONDS.labels(name).observe(max(now - started, 0.0))
        if result.outcome == "delivered":
            self.ledger.mark(msg.key, name, "delivered", now, result.external_ref)
            metrics.SENT.labels(name, msg.kind).inc()
            return receipt.model_copy(update={"status": "delivered", "attempts": attempts,
                                              "external_ref": result.external_ref, "at": now})
        self.ledger.mark(msg.key, name, "failed", now)
        metrics.FAILED.labels(name, result.reason).inc()
        error = result.reason if result.error in ("", result.reason) else f"{result.reason}: {result.error}"
        error = scrub(error, self.secrets)
        log.warning("notify %s to %s failed after %d attempt(s): %s", msg.key, name, attempts, error)
        return receipt.model_copy(update={"attempts": attempts, "error": error, "at": now})

    async def _attempts(self, msg: OutboxMessage, channel: Channel, memory: dict[str, str],
                        started: float) -> tuple[DeliveryResult, int]:
        """The one retry loop."""
        settings = self.cfg.retry
        deadline = started + settings.deadline_s
        attempt = 0
        while True:
            attempt += 1
            wait = self.limiter.reserve(channel.rate_rules, self.clock())
            if wait > 0:
                if self.clock() + wait > deadline:
                    return DeliveryResult.retryable("deadline", "rate limit wait beyond the deadline"), attempt - 1
                await self.sleep(wait)
            try:
                result = await channel.send(msg, memory)
            except Exception as exc:  # a channel bug must not take the other channels down
                # Type only: an exception message can echo a URL, and URLs carry secrets.
                log.error("channel %s raised %s on %s", channel.name, type(exc).__name__, msg.key)
                result = DeliveryResult.permanent("channel_error", type(exc).__name__)
            if result.remember and msg.incident_id:
                # Remember at once: a later failed step must not repeat a create.
                memory.update(result.remember)
                self.ledger.remember(channel.name, msg.incident_id, result.remember, self.clock())
            if result.outcome != "retryable":
                return result, attempt
            if attempt >= settings.max_attempts:
                return result, attempt
            if result.retry_after is not None and result.retry_after > settings.max_retry_after_s:
                return result, attempt
            delay = retry_delay(attempt, settings, self.rng, result.retry_after)
            if self.clock() + delay > deadline:
                return result, attempt
            metrics.RETRIES.labels(channel.name, result.reason).inc()
            log.info("notify %s to %s: %s, retry %d in %.2fs", msg.key, channel.name,
                     result.reason, attempt, delay)
            await self.sleep(delay)
