"""PagerDuty channel (Events API v2): trigger on alerts and updates, acknowledge when the
message asks for it, resolve on resolution; `dedup_key` is the incident id, so
PagerDuty itself folds repeats into one incident.

Must never put the routing key (it travels in the body) in an error or a log line.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

import httpx

from agents.notify.channels.http_outcome import exchange, failure_for_status
from agents.notify.config import PagerDutySettings
from agents.notify.delivery import DeliveryResult, RateRule
from agents.notify.render import facts, headline, link_list, truncate
from schemas.records import OutboxMessage

__all__ = ["PagerDutyChannel", "event_action"]

SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info"}


def event_action(msg: OutboxMessage) -> str:
    if msg.kind in ("resolved", "ticket_resolve"):
        return "resolve"
    if msg.fields.get("pagerduty_action") == "acknowledge":
        return "acknowledge"
    return "trigger"


class PagerDutyChannel:
    name = "pagerduty"

    def __init__(self, settings: PagerDutySettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.rate_rules = (RateRule("pagerduty", 1, 1.0 / settings.rate_per_s),)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return True  # every event carries the same dedup_key for the incident

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        dedup_key = msg.incident_id or msg.key
        action = event_action(msg)
        event: dict[str, Any] = {"routing_key": self.settings.routing_key.get_secret_value(),
                                 "event_action": action, "dedup_key": dedup_key}
        if action == "trigger":
            event["payload"] = {
                "summary": truncate(headline(msg), 1024),
                "source": msg.service or "logwarden",
                "severity": SEVERITY.get(msg.severity, "error"),
                "component": msg.fields.get("endpoint", "") or None,
                "custom_details": {label: value for label, value in facts(msg)} | (
                    {"body": truncate(msg.body, 4000)} if msg.body else {}),
            }
            if msg.at:
                event["payload"]["timestamp"] = datetime.fromtimestamp(msg.at, tz=timezone.utc).isoformat()
            event["payload"] = {k: v for k, v in event["payload"].items() if v is not None}
            event["client"] = "Logwarden"
            links = link_list(msg)
            if links:
                event["links"] = [{"href": url, "text": label} for label, url in links]
        response = await exchange(self.client, "POST", self.settings.events_url, json=event)
        if isinstance(response, DeliveryResult):
            return response
        if response.is_success:
            return DeliveryResult.delivered(external_ref=dedup_key)
        try:
            data = response.json()
            detail = truncate("; ".join(str(e) for e in data.get("errors", [])) or str(data.get("message", "")), 200)
        except (ValueError, AttributeError):
            detail = ""
        return failure_for_status(response, detail)
