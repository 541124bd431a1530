"""ntfy channel: POST the plain-text message to the topic with Title, Priority, Tags and
Click headers (P1 is "urgent", P4 "low").

Headers are Latin-1 only, so a non-ASCII title is sent RFC 2047 encoded, which ntfy
decodes. Must never put the topic (the only protection on a public server) or the
access token in an error or a log line.
"""

from __future__ import annotations

import base64
from typing import Mapping

import httpx

from agents.notify.channels.http_outcome import exchange, failure_for_status
from agents.notify.config import NtfySettings
from agents.notify.delivery import DeliveryResult, RateRule
from agents.notify.render import headline, plain_text, truncate
from schemas.records import OutboxMessage

__all__ = ["NtfyChannel"]

PRIORITY = {"P1": "5", "P2": "4", "P3": "3", "P4": "2"}
_TAGS = {"alert": "rotating_light", "update": "hourglass", "resolved": "white_check_mark",
         "digest": "bar_chart", "approval_request": "raising_hand"}


def _header(text: str) -> str:
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


class NtfyChannel:
    name = "ntfy"

    def __init__(self, settings: NtfySettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.rate_rules = (RateRule("ntfy", 1, 1.0 / settings.rate_per_s),)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return False

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        tags = [t for t in (_TAGS.get(msg.kind, ""), msg.severity.lower(), msg.service) if t]
        headers = {"Title": _header(truncate(headline(msg), 250)),
                   "Priority": PRIORITY.get(msg.severity, "3"),
                   "Tags": _header(",".join(tags))}
        if msg.links.get("incident") or msg.links.get("ticket"):
            headers["Click"] = msg.links.get("incident") or msg.links["ticket"]
        token = self.settings.token.get_secret_value()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{self.settings.server.rstrip('/')}/{self.settings.topic.get_secret_value()}"
        # ntfy's message limit is 4096 bytes; longer ones become attachments.
        body = plain_text(msg, limit=4000).encode()[:4096]
        response = await exchange(self.client, "POST", url, content=body, headers=headers)
        if isinstance(response, DeliveryResult):
            return response
        if response.is_success:
            try:
                return DeliveryResult.delivered(external_ref=str(response.json().get("id", "")))
            except ValueError:
                return DeliveryResult.delivered()
        try:
            detail = truncate(str(response.json().get("error", "")), 120)
        except (ValueError, AttributeError):
            detail = ""
        return failure_for_status(response, detail)
