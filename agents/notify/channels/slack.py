"""Slack channel: an incoming webhook (Block Kit), or a bot token that keeps one message
per incident (chat.postMessage once, then chat.update, updates as replies in its thread).

Slack reports many failures as HTTP 200 with {"ok": false, "error": "..."}; rate limits
come either as HTTP 429 with Retry-After or as "ratelimited" in that body. Must never
put the webhook URL or the bot token in an error or a log line.
"""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from agents.notify.channels.http_outcome import exchange, failure_for_status, retry_after_seconds
from agents.notify.config import SlackSettings
from agents.notify.delivery import DeliveryResult, RateRule
from agents.approvals.slack import approval_buttons
from agents.notify.render import slack_payload
from schemas.records import OutboxMessage

__all__ = ["SlackChannel"]

# Web API error codes worth another attempt; every other code is a permanent failure.
_RETRYABLE_API_ERRORS = {"ratelimited", "rate_limited", "internal_error", "fatal_error",
                         "service_unavailable", "request_timeout"}
# Kinds that belong to an incident's single message; others (digest) stand alone.
_INCIDENT_KINDS = {"alert", "alert_edit", "update", "resolved", "approval_request"}


class SlackChannel:
    name = "slack"

    def __init__(self, settings: SlackSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.bot = bool(settings.bot_token.get_secret_value())
        destination = settings.channel if self.bot else "webhook"
        self.rate_rules = (RateRule(f"slack:{destination}", 1, 1.0 / settings.rate_per_s),)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        # Only an edit of a message we know is safe to repeat; a reply in the thread is not.
        return (self.bot and bool(memory.get("ts")) and msg.kind in _INCIDENT_KINDS
                and (msg.kind == "alert_edit" or not self.settings.thread_updates))

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        payload = slack_payload(msg)
        if msg.kind == "approval_request" and msg.fields.get("approval_id") and msg.fields.get("slack_buttons"):
            # Approve/Escalate buttons, answered at POST /slack/interactions (agents.approvals);
            # only with approvals.slack_signing_secret set (the notify stage says so in the fields).
            payload["blocks"].append(approval_buttons(msg.fields["approval_id"]))
        if not self.bot:
            return await self._webhook(payload)
        ts = memory.get("ts", "") if msg.incident_id and msg.kind in _INCIDENT_KINDS else ""
        if not ts:
            result = await self._call("chat.postMessage", {"channel": self.settings.channel, **payload})
            if isinstance(result, DeliveryResult):
                return result
            keep = {"ts": result["ts"], "channel": result.get("channel", self.settings.channel)}
            return DeliveryResult.delivered(external_ref=result["ts"],
                                            remember=keep if msg.incident_id else {})
        channel_id = memory.get("channel", self.settings.channel)
        # Edit first: repeating an edit is harmless, so a failed reply can be retried whole.
        edited = await self._call("chat.update", {"channel": channel_id, "ts": ts, **payload})
        if isinstance(edited, DeliveryResult):
            return edited
        if self.settings.thread_updates and msg.kind != "alert_edit":  # an edit is the whole point
            reply = await self._call("chat.postMessage",
                                     {"channel": channel_id, "thread_ts": ts, **payload})
            if isinstance(reply, DeliveryResult):
                return reply
        return DeliveryResult.delivered(external_ref=ts)

    async def _webhook(self, payload: dict[str, Any]) -> DeliveryResult:
        response = await exchange(self.client, "POST", self.settings.webhook_url.get_secret_value(),
                                  json=payload)
        if isinstance(response, DeliveryResult):
            return response
        if response.is_success:
            return DeliveryResult.delivered()
        # Webhooks answer errors as short plain-text codes: invalid_payload, no_service, ...
        code = response.text.strip()[:64] if response.text.strip().isidentifier() else ""
        return failure_for_status(response, code)

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any] | DeliveryResult:
        response = await exchange(
            self.client, "POST", f"{self.settings.api_base.rstrip('/')}/{method}", json=body,
            headers={"Authorization": f"Bearer {self.settings.bot_token.get_secret_value()}"})
        if isinstance(response, DeliveryResult):
            return response
        if not response.is_success:
            return failure_for_status(response)
        try:
            data = response.json()
        except ValueError:
            return DeliveryResult.retryable("bad_response", f"{method}: response is not JSON")
        if data.get("ok"):
            return data
        error = str(data.get("error", "unknown"))[:64]
        if error in _RETRYABLE_API_ERRORS:
            return DeliveryResult.retryable(f"slack_{error}", f"{method}: {error}",
                                            retry_after=retry_after_seconds(response.headers.get("retry-after")))
        return DeliveryResult.permanent(f"slack_{error}", f"{method}: {error}")

