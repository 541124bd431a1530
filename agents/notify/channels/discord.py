"""Discord channel: webhook messages with one embed, edited in place for an incident's
updates (PATCH /messages/<id>), new message for new alerts.

Discord's 429 carries `retry_after` (seconds) in JSON as well as Retry-After. Must never
put the webhook URL (its path is the credential) in an error or a log line.
"""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from agents.notify.channels.http_outcome import exchange, failure_for_status, retry_after_seconds
from agents.notify.config import DiscordSettings
from agents.notify.delivery import DeliveryResult, RateRule
from agents.notify.render import discord_embed, headline, truncate
from schemas.records import OutboxMessage

__all__ = ["DiscordChannel"]

_EDIT_KINDS = {"alert_edit", "update", "resolved"}


class DiscordChannel:
    name = "discord"

    def __init__(self, settings: DiscordSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.rate_rules = (RateRule("discord:webhook", 1, 1.0 / settings.rate_per_s),)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return bool(memory.get("message_id")) and msg.kind in _EDIT_KINDS

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        url = self.settings.webhook_url.get_secret_value().rstrip("/")
        body: dict[str, Any] = {"content": truncate(headline(msg), 2000),
                                "embeds": [discord_embed(msg)],
                                "allowed_mentions": {"parse": []}}
        message_id = memory.get("message_id", "") if msg.incident_id else ""
        if message_id and msg.kind in _EDIT_KINDS:
            response = await exchange(self.client, "PATCH", f"{url}/messages/{message_id}", json=body)
            if isinstance(response, DeliveryResult):
                return response
            if response.is_success:
                return DeliveryResult.delivered(external_ref=message_id)
            if response.status_code != 404:  # 404: the message was deleted; post anew
                return self._failure(response)
        body["username"] = self.settings.username
        # wait=true makes Discord answer with the message (and its id) instead of 204.
        response = await exchange(self.client, "POST", url, params={"wait": "true"}, json=body)
        if isinstance(response, DeliveryResult):
            return response
        if not response.is_success:
            return self._failure(response)
        try:
            new_id = str(response.json().get("id", ""))
        except (ValueError, AttributeError):
            new_id = ""  # 204 without wait=true, or an odd proxy: delivered all the same
        return DeliveryResult.delivered(external_ref=new_id,
                                        remember={"message_id": new_id} if msg.incident_id and new_id else {})

    def _failure(self, response: httpx.Response) -> DeliveryResult:
        try:
            data = response.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        return failure_for_status(response, truncate(str(data.get("message", "")), 120),
                                  retry_after=retry_after_seconds(data.get("retry_after")))
