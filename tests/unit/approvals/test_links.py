"""Signed links: only an authentic, unexpired link of its own incident and action decides."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from agents.approvals.links import LinkCheck, check_link, decision_id_of, incident_of_approval, link_url, \
    parse_link, sign, with_decision_links
from schemas.records import OutboxMessage
from tests.unit.approvals.conftest import APPROVAL, INCIDENT, LINK_SECRET, NOW, OTHER_APPROVAL, OTHER_INCIDENT


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def make(action: str = "approve", approval: str = APPROVAL, incident: str = INCIDENT, expires: float = NOW + 600,
         secret: str = LINK_SECRET) -> dict[str, str]:
    return query_of(link_url("https://lw.example.test", secret, approval, incident, action, int(expires)))


def verdict(query: dict[str, str], now: float = NOW) -> LinkCheck:
    return check_link(LINK_SECRET, parse_link(query), now)


def test_the_signature_is_hmac_sha256_over_the_documented_string():
    import hashlib
    import hmac
    expected = hmac.new(LINK_SECRET.encode(), f"{APPROVAL}|{INCIDENT}|approve|123".encode(), hashlib.sha256)
    assert sign(LINK_SECRET, APPROVAL, INCIDENT, "approve", 123) == expected.hexdigest()


def test_a_fresh_link_is_ok_and_has_the_documented_shape():
    url = link_url("https://lw.example.test/", LINK_SECRET, APPROVAL, INCIDENT, "escalate", int(NOW + 600))
    assert url.startswith("https://lw.example.test/approve-fix?")
    assert set(query_of(url)) == {"incidentId", "approval", "action", "expires", "sig"}
    assert verdict(query_of(url)) is LinkCheck.OK


def test_a_link_signed_with_another_secret_is_forged():
    assert verdict(make(secret="someone-elses-secret")) is LinkCheck.FORGED


@pytest.mark.parametrize("field,value", [("expires", str(int(NOW + 10**6))), ("sig", "0" * 64)])
def test_an_edited_link_is_forged(field, value):
    query = make()
    query[field] = value
    assert verdict(query) is LinkCheck.FORGED


def test_an_expired_link_says_so():
    assert verdict(make(expires=NOW - 1)) is LinkCheck.EXPIRED
    assert verdict(make(expires=NOW + 1), now=NOW + 1) is LinkCheck.EXPIRED


def test_a_signature_moved_to_another_incident_is_cross_incident():
    query = make()
    query["incidentId"] = OTHER_INCIDENT  # the other incident's page, this approval's signature
    assert verdict(query) is LinkCheck.CROSS_INCIDENT
    moved = make(approval=OTHER_APPROVAL, incident=OTHER_INCIDENT)
    moved["approval"] = APPROVAL  # another incident's valid link pointed at this approval
    assert verdict(moved) is LinkCheck.CROSS_INCIDENT


def test_a_validly_signed_link_for_an_approval_of_another_incident_never_decides():
    # Even a signature made over the mismatched pair (a signing bug) does not decide.
    assert verdict(make(approval=OTHER_APPROVAL, incident=INCIDENT)) is LinkCheck.CROSS_INCIDENT


def test_an_approve_link_edited_into_an_escalation_is_wrong_action():
    query = make("approve")
    query["action"] = "escalate"
    assert verdict(query) is LinkCheck.WRONG_ACTION
    query["action"] = "delete"
    assert verdict(query) is LinkCheck.WRONG_ACTION


@pytest.mark.parametrize("drop", ["incidentId", "approval", "expires", "sig"])
def test_an_incomplete_link_is_malformed(drop):
    query = make()
    del query[drop]
    assert verdict(query) is LinkCheck.MALFORMED


def test_no_secret_configured_means_no_link_is_valid():
    assert check_link("", parse_link(make()), NOW) is LinkCheck.FORGED


def test_the_same_link_is_the_same_decision():
    a, b = parse_link(make()), parse_link(make())
    assert decision_id_of(a) == decision_id_of(b)
    assert decision_id_of(a) != decision_id_of(parse_link(make("escalate")))
    assert LINK_SECRET not in decision_id_of(a) and a.sig not in decision_id_of(a)


def test_approval_ids_name_their_incident():
    assert incident_of_approval(APPROVAL) == INCIDENT
    assert incident_of_approval("nope") == incident_of_approval(f"{INCIDENT}:fix:x") == ""


def _request(**fields) -> OutboxMessage:
    return OutboxMessage(key="k", kind="approval_request", incident_id=INCIDENT, service="checkout",
                         title="Fix proposed", fields=fields, at=NOW)


def test_an_approval_request_gets_approve_and_escalate_links():
    msg = with_decision_links(_request(approval_id=APPROVAL, incident_id=INCIDENT), "https://lw.example.test",
                              LINK_SECRET, 3600, NOW)
    assert set(msg.links) == {"approve", "escalate"}
    approve = query_of(msg.links["approve"])
    assert approve["action"] == "approve" and int(approve["expires"]) == int(NOW + 3600)
    assert verdict(approve) is LinkCheck.OK and verdict(query_of(msg.links["escalate"])) is LinkCheck.OK


def test_links_never_outlive_the_proposal():
    msg = with_decision_links(_request(approval_id=APPROVAL, incident_id=INCIDENT, expires_at=str(NOW + 60)),
                              "https://lw.example.test", LINK_SECRET, 3600, NOW)
    assert int(query_of(msg.links["approve"])["expires"]) == int(NOW + 60)


@pytest.mark.parametrize("secret,fields,kind", [
    ("", {"approval_id": APPROVAL, "incident_id": INCIDENT}, "approval_request"),
    (LINK_SECRET, {"incident_id": INCIDENT}, "approval_request"),
    (LINK_SECRET, {"approval_id": APPROVAL, "incident_id": INCIDENT}, "alert"),
])
def test_no_links_without_a_secret_an_approval_id_or_a_proposal(secret, fields, kind):
    msg = _request(**fields).model_copy(update={"kind": kind})
    assert with_decision_links(msg, "https://lw.example.test", secret, 3600, NOW).links == {}
