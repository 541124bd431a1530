"""The decision desk: every way a person decides, as one request -> answer function each.

Signed links (`GET`/`POST /approve-fix`), the bearer-token API (`POST /approvals/{id}`,
`POST /incidents/{id}/actions`) and Slack buttons (`POST /slack/interactions`) all end
here in the same records, `Approval` (approve/escalate) on `approvals` and
`IncidentAction` on `incidents.actions`, keyed by service. Before publishing, where the
approval is known not to be pending (already decided, expired), the person gets a
clear answer and nothing is published; the incident reducer still decides every
record it gets.

No web framework, broker or clock here: the shell hands in the request's parts, `now`,
and two coroutines (`publish`, the state lookups). Must never echo a token, a signature
or a secret, and must redact people's words before they are published.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from agents.approvals.auth import AuthRefusal, bearer_actor
from agents.approvals.config import ApprovalsConfig
from agents.approvals.links import ACTIONS, LinkCheck, SignedLink, check_link, decision_id_of, \
    incident_of_approval, parse_link
from agents.approvals.pages import confirmation_page, outcome_page
from agents.approvals.slack import SlackClick, SlackRefusal, parse_click, replacement, reply_url_allowed, \
    verify_request
from agents.approvals.standing import Standing
from agents.redact import redact
from schemas.records import Approval, IncidentAction

__all__ = ["INCIDENT_ACTIONS", "MAX_BODY", "Answer", "DecisionDesk", "Reply", "approval_decision", "incident_action"]

INCIDENT_ACTIONS = ("acknowledge", "note", "resolve", "close")
MAX_BODY = 16 * 1024  # a decision is a few words; Slack's payloads are a few KiB
MAX_TEXT = 2000
_IDEMPOTENCY = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

Publish = Callable[[str, str, Any], Awaitable[bool]]
# approval id -> where it stands; None: it cannot be checked from here (the reducer decides).
ApprovalLookup = Callable[[str], Awaitable[Standing | None]]
# incident id -> known?; None: cannot be checked from here.
IncidentLookup = Callable[[str], Awaitable[bool | None]]

_LINK_PAGES = {
    LinkCheck.MALFORMED: (400, "Link not valid", "This link is incomplete or damaged. Use the link from the "
                                                 "notification as it was sent."),
    LinkCheck.FORGED: (403, "Link not valid", "This link was not made by Logwarden, or was changed. Nothing "
                                              "was done."),
    LinkCheck.CROSS_INCIDENT: (403, "Link not valid", "This link belongs to another incident. Nothing was done."),
    LinkCheck.WRONG_ACTION: (403, "Link not valid", "This link was changed (its action is not the one it was "
                                                    "made for). Nothing was done."),
    LinkCheck.EXPIRED: (410, "Link expired", "This link has expired. Nothing was done; decide from the "
                                             "console, the CLI or a newer notification."),
}


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: a JSON body (dict) or an HTML page (str)."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_html(self) -> bool:
        return isinstance(self.body, str)


@dataclass(frozen=True)
class Reply:
    """A message to post to Slack's response_url after answering Slack."""

    url: str
    payload: dict[str, Any]


def _error(status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"error": reason, "message": message}, headers or {})


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"`{name}` must be a string")
    return redact(value.strip())[:MAX_TEXT]


def _json_object(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY:
        raise ValueError(f"the body is over {MAX_BODY} bytes")
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _request_id(headers: Mapping[str, str], prefix: str) -> str:
    """A caller's Idempotency-Key makes a retried request the same decision; else a new id."""
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), "").strip()
    return f"{prefix}:{key}" if _IDEMPOTENCY.match(key) else f"{prefix}:{uuid.uuid4().hex}"


class DecisionDesk:
    def __init__(self, cfg: ApprovalsConfig, *, publish: Publish, approval: ApprovalLookup,
                 incident: IncidentLookup, service_of: Callable[[str], str]) -> None:
        self.cfg = cfg
        self.publish, self.approval, self.incident, self.service_of = publish, approval, incident, service_of

    # --- signed links ------------------------------------------------------------------

    def _link(self, query: Mapping[str, str], now: float) -> tuple[SignedLink | None, Answer | None]:
        link = parse_link(query)
        verdict = check_link(self.cfg.link_secret.get_secret_value(), link, now)
        if verdict is LinkCheck.OK:
            return link, None
        status, title, message = _LINK_PAGES[verdict]
        return None, Answer(status, outcome_page(title, message))

    async def _standing_page(self, link: SignedLink, standing: Standing | None = None) -> Answer | None:
        standing = standing or await self.approval(link.approval_id)
        if standing is None:
            return None
        if not standing.known:
            return Answer(404, outcome_page("No such proposal", standing.describe()))
        if standing.incident_id and standing.incident_id != link.incident_id:
            return Answer(403, outcome_page("Link not valid", _LINK_PAGES[LinkCheck.CROSS_INCIDENT][2]))
        if not standing.pending:
            status = 410 if standing.status == "expired" else 409
            return Answer(status, outcome_page("Already decided" if status == 409 else "Proposal expired",
                                               standing.describe()))
        return None

    async def confirm_link(self, query: Mapping[str, str], now: float) -> Answer:
        """`GET /approve-fix`: a confirmation page, never a decision."""
        link, refused = self._link(query, now)
        if refused or link is None:
            return refused or Answer(400, outcome_page("Link not valid", ""))
        standing = await self.approval(link.approval_id)
        refused = await self._standing_page(link, standing)
        if refused is not None:
            return refused
        if standing is None:  # no worker could be asked: the reducer decides on POST
            return Answer(200, confirmation_page(link))
        return Answer(200, confirmation_page(link, standing.runbook, standing.command, standing.dry_run))

    async def decide_link(self, query: Mapping[str, str], form: Mapping[str, str], now: float) -> Answer:
        """`POST /approve-fix`: the confirmation's button. The same link is the same decision."""
        link, refused = self._link(query if query.get("sig") else form, now)
        if refused or link is None:
            return refused or Answer(400, outcome_page("Link not valid", ""))
        done = await self._standing_page(link)
        if done is not None:
            return done
        record = self._approval(link.approval_id, link.action, "link", "link", form.get("reason", ""),
                                decision_id_of(link), now)
        if not await self.publish("approvals", record.service, record):
            return Answer(503, outcome_page("Try again", "The decision could not be recorded just now. Nothing "
                                                         "was done; reload this page to try again."),
                          {"Retry-After": "5"})
        verb = "Approval" if link.action == "approve" else "Escalation"
        return Answer(202, outcome_page(f"{verb} recorded", f"{verb} of {link.approval_id} recorded. Logwarden "
                                        "checks it against the incident and reports what happens in the "
                                        "incident's timeline and notifications."))

    def _approval(self, approval_id: str, action: str, actor: str, via: str, reason: Any, decision_id: str,
                  now: float) -> Approval:
        return approval_decision(approval_id, action, actor, via, _text(reason, "reason"), decision_id, now,
                                 self.service_of)

    # --- the bearer-token API ----------------------------------------------------------

    def _asked(self, headers: Mapping[str, str], body: bytes, remote: str | None, actions: Any,
               wrong_action: str) -> tuple[str, dict[str, Any], str] | Answer:
        """Who asks (bearer token), the JSON body and its `action`; or the refusal to answer."""
        try:
            actor = bearer_actor(headers, self.cfg.api_tokens, remote)
        except AuthRefusal as refusal:
            return _error(refusal.status, refusal.reason, refusal.message, refusal.headers)
        try:
            data = _json_object(body)
        except ValueError as exc:
            return _error(400, "bad_request", str(exc))
        action = data.get("action")
        if action not in actions:
            return _error(400, "bad_request", wrong_action)
        return actor, data, action

    async def decide_http(self, approval_id: str, headers: Mapping[str, str], body: bytes, remote: str | None,
                          now: float) -> Answer:
        """`POST /approvals/{approval_id}` `{"action": "approve"|"escalate", "reason": "..."}`."""
        asked = self._asked(headers, body, remote, ACTIONS, '`action` must be "approve" or "escalate"')
        if isinstance(asked, Answer):
            return asked
        actor, data, action = asked
        try:
            if not incident_of_approval(approval_id):
                raise LookupError
            record = self._approval(approval_id, action, actor, "http", data.get("reason"),
                                    _request_id(headers, actor), now)
        except ValueError as exc:
            return _error(400, "bad_request", str(exc))
        except LookupError:
            return _error(404, "not_found", "approval ids look like <incident id>:fix:<n>")
        standing = await self.approval(approval_id)
        if standing is not None and not standing.known:
            return _error(404, "not_found", standing.describe())
        if standing is not None and not standing.pending:
            return Answer(409, {"error": "not_pending", "message": standing.describe(), **_public(standing)})
        if not await self.publish("approvals", record.service, record):
            return _error(503, "broker_unavailable", "the decision could not be recorded; retry", {"Retry-After": "5"})
        return Answer(202, {"status": "accepted", "approval_id": approval_id, "action": action, "actor": actor,
                            "decision_id": record.decision_id})

    async def act_http(self, incident_id: str, headers: Mapping[str, str], body: bytes, remote: str | None,
                       now: float) -> Answer:
        """`POST /incidents/{incident_id}/actions` `{"action": "acknowledge"|"note"|"resolve"|"close", "text"}`."""
        asked = self._asked(headers, body, remote, INCIDENT_ACTIONS,
                            "`action` must be one of " + ", ".join(INCIDENT_ACTIONS))
        if isinstance(asked, Answer):
            return asked
        actor, data, action = asked
        try:
            text = _text(data.get("text"), "text")
            if action == "note" and not text:
                raise ValueError("a note needs `text`")
        except ValueError as exc:
            return _error(400, "bad_request", str(exc))
        known = await self.incident(incident_id)
        if known is False:
            return _error(404, "not_found", f"no incident {incident_id[:200]}")
        record = incident_action(incident_id, action, actor, "http", text, _request_id(headers, actor), now,
                                 self.service_of)
        if not await self.publish("incidents.actions", record.service, record):
            return _error(503, "broker_unavailable", "the action could not be recorded; retry", {"Retry-After": "5"})
        return Answer(202, {"status": "accepted", "incident_id": incident_id, "action": action, "actor": actor,
                            "action_id": record.action_id})

    # --- Slack buttons -------------------------------------------------------------------

    async def slack(self, headers: Mapping[str, str], body: bytes, now: float) -> tuple[Answer, Reply | None]:
        """`POST /slack/interactions`: verify, decide, and say how to replace the message."""
        try:
            if len(body) > MAX_BODY * 4:
                raise SlackRefusal(413, "too_large", "the request body is too large")
            verify_request(headers, body, self.cfg.slack_signing_secret.get_secret_value(), now,
                           self.cfg.slack_max_age_s)
            click = parse_click(body)
        except SlackRefusal as refusal:
            return _error(refusal.status, refusal.reason, refusal.message), None
        user = re.sub(r"[^A-Za-z0-9]", "", click.user_id) or "unknown"
        if not incident_of_approval(click.approval_id):
            return _error(400, "unknown_action", "the button names no Logwarden approval"), None
        standing = await self.approval(click.approval_id)
        if standing is not None and (not standing.known or not standing.pending):
            return Answer(200, {}), self._reply(click, standing.describe())
        record = self._approval(click.approval_id, click.action, f"slack:{user}", "slack", "",
                                f"slack:{user}:{click.approval_id}:{click.action}:{click.action_ts}", now)
        if not await self.publish("approvals", record.service, record):
            # Slack shows a non-2xx answer as an error to the person who clicked.
            return _error(503, "broker_unavailable", "the decision could not be recorded; retry"), None
        verb = "Approved" if click.action == "approve" else "Escalated"
        return Answer(200, {}), self._reply(click, f"{verb} by <@{user}>. Logwarden reports what happens next "
                                                   "in this incident's updates.")

    def _reply(self, click: SlackClick, outcome: str) -> Reply | None:
        if not reply_url_allowed(click.response_url):
            return None
        return Reply(click.response_url, replacement(click, outcome))


def _public(standing: Standing) -> dict[str, Any]:
    return {"approval_id": standing.approval_id, "status": standing.status, "decided_by": standing.decided_by}


def approval_decision(approval_id: str, action: str, actor: str, via: str, reason: str, decision_id: str,
                      now: float, service_of: Callable[[str], str]) -> Approval:
    """A person's decision on a proposed fix, the reason redacted."""
    incident_id = incident_of_approval(approval_id)
    return Approval(approval_id=approval_id, incident_id=incident_id, service=service_of(incident_id),
                    action=action, actor=actor, via=via, reason=redact(reason)[:MAX_TEXT], decision_id=decision_id,
                    at=now)


def incident_action(incident_id: str, action: str, actor: str, via: str, text: str, action_id: str, now: float,
                    service_of: Callable[[str], str]) -> IncidentAction:
    """A person's action on an incident, its text redacted."""
    return IncidentAction(action_id=action_id, incident_id=incident_id, service=service_of(incident_id),
                          action=action, actor=actor, via=via, text=redact(text)[:MAX_TEXT], at=now)
