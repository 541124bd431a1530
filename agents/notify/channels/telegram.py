"""Telegram channel: Bot API sendMessage in HTML parse mode, then editMessageText so an
incident keeps one message; a new alert on an open incident replies to it (editing does
not ping anyone, a re-alert must).

Telegram answers {"ok": false, "error_code", "description", "parameters":
{"retry_after"}} on errors. Must never put the bot token (it is in the URL path) in an
error or a log line.
"""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from agents.notify.channels.http_outcome import exchange, failure_for_status, retry_after_seconds
from agents.notify.config import TelegramSettings
from agents.notify.delivery import DeliveryResult, RateRule
from agents.notify.render import telegram_html, truncate
from schemas.records import OutboxMessage

__all__ = ["TelegramChannel"]

_EDIT_KINDS = {"alert_edit", "update", "resolved"}


class TelegramChannel:
    name = "telegram"

    def __init__(self, settings: TelegramSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        chat = settings.chat_id
        rules = [RateRule(f"telegram:{chat}", 1, 1.0 / settings.rate_per_s)]
        if chat.startswith("-"):
            rules.append(RateRule(f"telegram-group:{chat}", settings.group_per_minute, 60.0))
        self.rate_rules = tuple(rules)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return bool(memory.get("message_id")) and msg.kind in _EDIT_KINDS

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        text = telegram_html(msg)
        message_id = memory.get("message_id", "") if msg.incident_id else ""
        if message_id and msg.kind in _EDIT_KINDS:
            edited = await self._call("editMessageText", {
                "chat_id": self.settings.chat_id, "message_id": int(message_id), "text": text,
                "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}})
            if not isinstance(edited, DeliveryResult):
                return DeliveryResult.delivered(external_ref=message_id)
            if edited.reason == "telegram_not_modified":
                return DeliveryResult.delivered(external_ref=message_id)
            if edited.reason != "telegram_message_gone":
                return edited
            message_id = ""  # deleted by someone: post a fresh message below
        body: dict[str, Any] = {"chat_id": self.settings.chat_id, "text": text, "parse_mode": "HTML",
                                "link_preview_options": {"is_disabled": True}}
        if message_id:
            body["reply_parameters"] = {"message_id": int(message_id),
                                        "allow_sending_without_reply": True}
        sent = await self._call("sendMessage", body)
        if isinstance(sent, DeliveryResult):
            return sent
        new_id = str(sent.get("message_id", ""))
        return DeliveryResult.delivered(external_ref=new_id,
                                        remember={"message_id": new_id} if msg.incident_id else {})

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any] | DeliveryResult:
        token = self.settings.bot_token.get_secret_value()
        url = f"{self.settings.api_base.rstrip('/')}/bot{token}/{method}"
        response = await exchange(self.client, "POST", url, json=body)
        if isinstance(response, DeliveryResult):
            return response
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.is_success and data.get("ok"):
            result = data.get("result")
            return result if isinstance(result, dict) else {}
        description = truncate(str(data.get("description", "")), 120)
        if "message is not modified" in description:
            return DeliveryResult.permanent("telegram_not_modified", description)
        if "message to edit not found" in description:
            return DeliveryResult.permanent("telegram_message_gone", description)
        params = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        return failure_for_status(response, f"{method}: {description}" if description else method,
                                  retry_after=retry_after_seconds(params.get("retry_after")))
