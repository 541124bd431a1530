"""Slack interactive buttons: the request signature, the click, the message that replaces it.

Slack signs every request: `X-Slack-Signature: v0=<hex>` is HMAC-SHA256 with the app's
signing secret over `v0:<X-Slack-Request-Timestamp>:<raw body>`; a timestamp further
than `slack_max_age_s` (Slack says 5 minutes) from now is a replay and refused
(api.slack.com/authentication/verifying-requests-from-slack). A click arrives as a
form-encoded `payload` field holding a JSON `block_actions` payload; the decision is
posted back to its `response_url` with `replace_original`, so the message shows it.

Pure: no clock, no network. Must never reveal the signing secret, and must compare
signatures in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

__all__ = ["ACTION_IDS", "SlackClick", "SlackRefusal", "approval_buttons", "parse_click", "replacement",
           "reply_url_allowed", "signature", "verify_request"]

ACTION_IDS = {"logwarden_approve": "approve", "logwarden_escalate": "escalate"}
_BUTTONS = (("logwarden_approve", "approve", "Approve", "primary"),
            ("logwarden_escalate", "escalate", "Escalate", "danger"))
_REPLY_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")


@dataclass
class SlackRefusal(Exception):
    status: int
    reason: str
    message: str  # never contains a secret or a header value


@dataclass(frozen=True)
class SlackClick:
    approval_id: str
    action: str  # approve | escalate
    user_id: str
    response_url: str
    message: dict[str, Any]  # the message the button was on (to rebuild it), may be empty
    action_ts: str = ""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_request(headers: Mapping[str, str], body: bytes, secret: str, now: float, max_age_s: float) -> None:
    """Raise `SlackRefusal` unless Slack signed this body within `max_age_s` of `now`."""
    lower = {k.lower(): v for k, v in headers.items()}
    if not secret:
        raise SlackRefusal(403, "slack_not_configured", "Slack buttons are not enabled on this server "
                                "(approvals.slack_signing_secret is not set)")
    timestamp, given = lower.get("x-slack-request-timestamp", ""), lower.get("x-slack-signature", "")
    if not timestamp or not given:
        raise SlackRefusal(401, "unsigned", "X-Slack-Request-Timestamp and X-Slack-Signature are required")
    if not timestamp.isdigit():
        raise SlackRefusal(401, "bad_timestamp", "X-Slack-Request-Timestamp is not a number of seconds")
    if abs(now - int(timestamp)) > max_age_s:
        raise SlackRefusal(401, "stale_request", f"the request timestamp is more than {int(max_age_s)} s "
                                                 "from now (a replay, or a clock far off)")
    if not hmac.compare_digest(signature(secret, timestamp, body).encode(), given.strip().encode()):
        raise SlackRefusal(401, "bad_signature", "X-Slack-Signature does not match this body")


def button_value(approval_id: str, action: str) -> str:
    return f"{action}|{approval_id}"


def approval_buttons(approval_id: str) -> dict[str, Any]:
    """The actions block of an approval request: Approve and Escalate."""
    return {"type": "actions", "block_id": "logwarden_decision", "elements": [
        {"type": "button", "action_id": action_id, "style": style, "value": button_value(approval_id, action),
         "text": {"type": "plain_text", "text": label}}
        for action_id, action, label, style in _BUTTONS]}


def parse_click(body: bytes) -> SlackClick:
    """The decision a signed `block_actions` body carries (raises `SlackRefusal` 400)."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False, max_num_fields=20)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, KeyError, IndexError, ValueError):
        raise SlackRefusal(400, "bad_payload", "the form field `payload` must hold Slack's JSON payload") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise SlackRefusal(400, "unsupported_payload", "only block_actions payloads (button clicks) are handled")
    actions = payload.get("actions") or [{}]
    first = actions[0] if isinstance(actions, list) and isinstance(actions[0], dict) else {}
    action = ACTION_IDS.get(str(first.get("action_id", "")), "")
    value_action, _, approval_id = str(first.get("value", "")).partition("|")
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    if not action or value_action != action or not approval_id:
        raise SlackRefusal(400, "unknown_action", "the button is not a Logwarden Approve/Escalate button")
    if not user.get("id"):
        raise SlackRefusal(400, "no_user", "the payload names no user")
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    return SlackClick(approval_id=approval_id, action=action, user_id=str(user["id"])[:64],
                      response_url=str(payload.get("response_url", "")), message=message,
                      action_ts=str(first.get("action_ts", "")))


def reply_url_allowed(url: str) -> bool:
    """Only Slack's own hooks get the reply (a response_url elsewhere is not Slack's)."""
    parts = urlsplit(url)
    return parts.scheme == "https" and (parts.hostname or "") in _REPLY_HOSTS


def replacement(click: SlackClick, outcome: str) -> dict[str, Any]:
    """The message that replaces the clicked one: its blocks without the buttons, plus
    who decided what (`outcome`: one plain sentence, e.g. "Approved by")."""
    blocks = [b for b in click.message.get("blocks", []) if isinstance(b, dict) and b.get("type") != "actions"]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]})
    text = str(click.message.get("text", "")) or outcome
    return {"replace_original": True, "text": text, "blocks": blocks}
