"""Signed, expiring approve/escalate links (ops/APPROVALS.md, "Signed links").

A link is `{public_url}/approve-fix?incidentId=&approval=&action=&expires=&sig=` where
`sig` is HMAC-SHA256 with `approvals.link_secret` over
`"<approval id>|<incident id>|<action>|<expires>"`, in hex. Checking a link answers one
`LinkCheck`: ok, forged, expired, cross_incident (the approval is not the incident's),
wrong_action (a valid link whose action was edited) or malformed.

Pure: the clock is passed in. Must never reveal the secret or a valid signature for
anything but the link it was asked to sign, and must compare signatures in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum
from typing import Mapping
from urllib.parse import urlencode

from schemas.records import OutboxMessage

__all__ = ["ACTIONS", "LinkCheck", "SignedLink", "check_link", "decision_id_of", "incident_of_approval",
           "link_url", "parse_link", "sign", "with_decision_links"]

ACTIONS = ("approve", "escalate")
PATH = "/approve-fix"
_MAX_FIELD = 300  # ids are far shorter; a longer value is not ours


class LinkCheck(str, Enum):
    OK = "ok"
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    CROSS_INCIDENT = "cross_incident"
    WRONG_ACTION = "wrong_action"


@dataclass(frozen=True)
class SignedLink:
    approval_id: str
    incident_id: str
    action: str
    expires: int
    sig: str

    def query(self) -> dict[str, str]:
        return {"incidentId": self.incident_id, "approval": self.approval_id, "action": self.action,
                "expires": str(self.expires), "sig": self.sig}


def incident_of_approval(approval_id: str) -> str:
    """Approval ids are `<incident id>:fix:<n>`: the incident is what precedes `:fix:`."""
    incident, sep, n = approval_id.rpartition(":fix:")
    return incident if sep and incident and n.isdigit() else ""


def sign(secret: str, approval_id: str, incident_id: str, action: str, expires: int) -> str:
    message = f"{approval_id}|{incident_id}|{action}|{int(expires)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def link_url(public_url: str, secret: str, approval_id: str, incident_id: str, action: str,
             expires: int) -> str:
    link = SignedLink(approval_id, incident_id, action, int(expires),
                      sign(secret, approval_id, incident_id, action, expires))
    return f"{public_url.rstrip('/')}{PATH}?{urlencode(link.query())}"


def parse_link(query: Mapping[str, str]) -> SignedLink | None:
    """The link named by a query (or a form with the same fields); None when a field is missing or bad."""
    values = {name: str(query.get(name, "") or "") for name in ("incidentId", "approval", "action", "expires", "sig")}
    values["action"] = values["action"] or "approve"  # OpsGuard's links name only an escalation
    if not all(values.values()) or any(len(v) > _MAX_FIELD for v in values.values()):
        return None
    if not values["expires"].isdigit() or len(values["sig"]) != 64:
        return None
    return SignedLink(values["approval"], values["incidentId"], values["action"], int(values["expires"]),
                      values["sig"].lower())


def _matches(secret: str, link: SignedLink, action: str) -> bool:
    expected = sign(secret, link.approval_id, link.incident_id, action, link.expires)
    return hmac.compare_digest(expected, link.sig)


def check_link(secret: str, link: SignedLink | None, now: float) -> LinkCheck:
    """What a link is worth at `now`. Only OK may lead to a decision."""
    if link is None or not secret:
        return LinkCheck.MALFORMED if link is None else LinkCheck.FORGED
    if incident_of_approval(link.approval_id) != link.incident_id:
        # The approval is another incident's: a signature taken from one link and put on
        # another incident's page, or a hand-made query. Never decides, whatever the sig.
        return LinkCheck.CROSS_INCIDENT
    if link.action not in ACTIONS:
        return LinkCheck.WRONG_ACTION if any(_matches(secret, link, a) for a in ACTIONS) else LinkCheck.FORGED
    if not _matches(secret, link, link.action):
        other = ACTIONS[1 - ACTIONS.index(link.action)]
        return LinkCheck.WRONG_ACTION if _matches(secret, link, other) else LinkCheck.FORGED
    if now >= link.expires:
        return LinkCheck.EXPIRED
    return LinkCheck.OK


def decision_id_of(link: SignedLink) -> str:
    """The same link always makes the same decision id (a reused link is one decision)."""
    return "link:" + hashlib.sha256(link.sig.encode()).hexdigest()[:32]


def with_decision_links(msg: OutboxMessage, public_url: str, secret: str, ttl_s: float,
                        now: float) -> OutboxMessage:
    """An approval request with Approve and Escalate links added (when a secret is set
    and the message names its approval and incident); any other message unchanged."""
    approval_id, incident_id = msg.fields.get("approval_id", ""), msg.fields.get("incident_id", msg.incident_id)
    if msg.kind != "approval_request" or not secret or not approval_id or not incident_id:
        return msg
    expires = int(now + ttl_s)
    expires_at = msg.fields.get("expires_at", "")
    try:  # never outlive the proposal itself
        expires = min(expires, int(float(expires_at))) if expires_at else expires
    except ValueError:
        pass
    links = {**msg.links}
    for action in ACTIONS:
        links[action] = link_url(public_url, secret, approval_id, incident_id, action, expires)
    return msg.model_copy(update={"links": links})
