"""Generic webhook channel: the outbox record as JSON, with an `Idempotency-Key` header
(the outbox key) so receivers can deduplicate, and an optional HMAC-SHA256 signature
of the exact body bytes in `X-Logwarden-Signature: sha256=<hex>`.

Must never put the URL (it may embed a token) or the signing secret in an error or a
log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Mapping

import httpx

from agents.notify.channels.http_outcome import exchange, failure_for_status
from agents.notify.config import WebhookSettings
from agents.notify.delivery import DeliveryResult, RateRule
from agents.notify.render import headline
from schemas.records import OutboxMessage

__all__ = ["WebhookChannel", "signature"]

SIGNATURE_HEADER = "X-Logwarden-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: WebhookSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.rate_rules = (RateRule("webhook", 1, 1.0 / settings.rate_per_s),)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return False  # the receiver may honour Idempotency-Key; we cannot know

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        document = {"version": 1, "headline": headline(msg),
                    **msg.model_dump(exclude={"channels"})}
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": msg.key,
                   "User-Agent": "Logwarden"}
        secret = self.settings.hmac_secret.get_secret_value()
        if secret:
            headers[SIGNATURE_HEADER] = signature(secret, body)
        response = await exchange(self.client, "POST", self.settings.url.get_secret_value(),
                                  content=body, headers=headers)
        if isinstance(response, DeliveryResult):
            return response
        if response.is_success:
            return DeliveryResult.delivered(external_ref=msg.key)
        return failure_for_status(response)
