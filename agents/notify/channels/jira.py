"""Jira Cloud channel (REST v3): one issue per incident (or per one-off finding),
comments in Atlassian Document Format, resolution by transitioning to the configured
done status by name.

At most one issue per incident: the key is remembered, and when it is not (first time,
or a worker died between creating and remembering) the issue is looked up by its label
before one is created. A comment repeated after such a crash is found by its footer,
which carries the outbox key. Must never put the API token in an error or a log line.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Mapping

import httpx

from agents.notify.channels.http_outcome import exchange, failure_for_status
from agents.notify.config import JiraSettings
from agents.notify.delivery import IN_DOUBT, DeliveryResult, RateRule
from agents.notify.render import adf_document, headline, truncate
from schemas.records import OutboxMessage

__all__ = ["JiraChannel", "issue_label"]

_CREATE_KINDS = {"ticket_create", "oneoff_ticket", "alert"}
_COMMENT_KINDS = {"ticket_comment", "update", "approval_request", "alert_edit"}
_RESOLVE_KINDS = {"ticket_resolve", "resolved"}


def issue_label(prefix: str, msg: OutboxMessage) -> str:
    """The label that identifies an incident's issue (Jira labels allow no spaces)."""
    identity = msg.incident_id or msg.fields.get("fingerprint") or msg.key
    return re.sub(r"[^A-Za-z0-9_.:-]", "-", f"{prefix}-{identity}")[:255]


class JiraChannel:
    name = "jira"

    def __init__(self, settings: JiraSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.api = f"{settings.base_url.rstrip('/')}/rest/api/3"
        self.rate_rules = (RateRule("jira", 1, 1.0 / settings.rate_per_s),)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return msg.kind in _CREATE_KINDS | _COMMENT_KINDS | _RESOLVE_KINDS

    def _headers(self) -> dict[str, str]:
        pair = f"{self.settings.email}:{self.settings.api_token.get_secret_value()}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
                "Accept": "application/json"}

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        if msg.kind not in _CREATE_KINDS | _COMMENT_KINDS | _RESOLVE_KINDS:
            return DeliveryResult.permanent("unsupported_kind", f"jira does not take {msg.kind} messages")
        # A registry hit hands over the known issue of an earlier incident.
        key = memory.get("issue_key", "") or msg.fields.get("ticket_key", "")
        if not key:
            found = await self._find(issue_label(self.settings.label_prefix, msg))
            if isinstance(found, DeliveryResult):
                return found
            key = found
        if not key:
            made = await self._create(msg)
            if isinstance(made, DeliveryResult):
                return made
            key = made
            if not key:
                return DeliveryResult.delivered()
        remember = {"issue_key": key}
        failure: DeliveryResult | None = None
        if msg.kind in _COMMENT_KINDS | _RESOLVE_KINDS:
            failure = await self._comment(key, msg, in_doubt=bool(memory.get(IN_DOUBT)))
        if failure is None and msg.kind in _RESOLVE_KINDS:
            failure = await self._resolve(key)
        if failure is None and msg.fields.get("priority_raised") == "true":
            failure = await self._raise_priority(key, msg.fields.get("priority", ""))
        if failure is not None:
            # The key is remembered even when a later step failed: the retry must not create.
            return DeliveryResult(failure.outcome, reason=failure.reason, error=failure.error,
                                  retry_after=failure.retry_after, remember=remember)
        return DeliveryResult.delivered(external_ref=key, remember=remember)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await exchange(self.client, method, f"{self.api}{path}",
                                  headers=self._headers(), **kwargs)
        if isinstance(response, DeliveryResult):
            return response
        if not response.is_success:
            return failure_for_status(response, _jira_error(response))
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return DeliveryResult.retryable("bad_response", f"jira {path.split('/')[1]}: not JSON")

    async def _find(self, label: str) -> str | DeliveryResult:
        data = await self._json("GET", "/search/jql", params={
            "jql": f'labels = "{label}" ORDER BY created ASC', "fields": "status", "maxResults": "1"})
        if isinstance(data, DeliveryResult):
            return data
        issues = data.get("issues") or []
        return str(issues[0]["key"]) if issues else ""

    async def _create(self, msg: OutboxMessage) -> str | DeliveryResult:
        priority = (self.settings.oneoff_priority if msg.kind == "oneoff_ticket"
                    else self.settings.priorities.get(msg.severity, self.settings.priorities.get("P3", "Medium")))
        labels = [issue_label(self.settings.label_prefix, msg)]
        labels += [re.sub(r"\s+", "-", label) for label in msg.labels if label.strip()]
        fields = {
            "project": {"key": self.settings.project},
            "issuetype": {"name": self.settings.issue_type},
            "summary": truncate(headline(msg).replace("\n", " "), 255),
            "description": adf_document(msg),
            "priority": {"name": priority},
            "labels": sorted(set(labels)),
        }
        data = await self._json("POST", "/issue", json={"fields": fields})
        if isinstance(data, DeliveryResult):
            return data
        # A 2xx without a key (a proxy's 204): created, but the label search finds it later.
        return str(data.get("key", ""))

    async def _comment(self, key: str, msg: OutboxMessage, in_doubt: bool) -> DeliveryResult | None:
        footer = f"logwarden delivery {msg.key}"
        if in_doubt:
            # The previous attempt may have landed before the worker died: look first.
            data = await self._json("GET", f"/issue/{key}/comment",
                                    params={"orderBy": "-created", "maxResults": "50"})
            if isinstance(data, DeliveryResult):
                return data
            if any(footer in str(c.get("body", "")) for c in data.get("comments", [])):
                return None
        data = await self._json("POST", f"/issue/{key}/comment",
                                json={"body": adf_document(msg, footer=footer)})
        return data if isinstance(data, DeliveryResult) else None

    async def _raise_priority(self, key: str, severity: str) -> DeliveryResult | None:
        """An escalation: the issue's priority becomes the one mapped to the raised severity."""
        name = self.settings.priorities.get(severity)
        if not name:
            return None
        done = await self._json("PUT", f"/issue/{key}", json={"fields": {"priority": {"name": name}}})
        return done if isinstance(done, DeliveryResult) else None

    async def _resolve(self, key: str) -> DeliveryResult | None:
        done = self.settings.done_status.casefold()
        issue = await self._json("GET", f"/issue/{key}", params={"fields": "status"})
        if isinstance(issue, DeliveryResult):
            return issue
        status = ((issue.get("fields") or {}).get("status") or {}).get("name", "")
        if status.casefold() == done:
            return None
        data = await self._json("GET", f"/issue/{key}/transitions")
        if isinstance(data, DeliveryResult):
            return data
        for transition in data.get("transitions", []):
            target = (transition.get("to") or {}).get("name", "")
            if done in (target.casefold(), str(transition.get("name", "")).casefold()):
                moved = await self._json("POST", f"/issue/{key}/transitions",
                                         json={"transition": {"id": transition["id"]}})
                return moved if isinstance(moved, DeliveryResult) else None
        return DeliveryResult.permanent("jira_no_transition",
                                        f"no transition to {self.settings.done_status!r} from {status!r}")


def _jira_error(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    messages = list(data.get("errorMessages") or []) if isinstance(data, dict) else []
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, dict):
        messages += [f"{field}: {text}" for field, text in sorted(errors.items())]
    return truncate("; ".join(str(m) for m in messages), 200)
