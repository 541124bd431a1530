"""Slack request signatures exactly as Slack documents them, and the button click."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from agents.approvals.slack import SlackRefusal, approval_buttons, parse_click, replacement, reply_url_allowed, \
    signature, verify_request
from tests.unit.approvals.conftest import APPROVAL

# The worked example of api.slack.com/authentication/verifying-requests-from-slack.
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZ"
            b"RskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def doc_headers(**changes: str) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": DOC_TIMESTAMP, "X-Slack-Signature": DOC_SIGNATURE, **changes}


def test_slacks_documented_example_verifies():
    assert signature(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY) == DOC_SIGNATURE
    verify_request(doc_headers(), DOC_BODY, DOC_SECRET, float(DOC_TIMESTAMP) + 10, 300)
    # Header names are case-insensitive (Slack says so).
    verify_request({k.lower(): v for k, v in doc_headers().items()}, DOC_BODY, DOC_SECRET,
                   float(DOC_TIMESTAMP), 300)


def refusal(headers, body=DOC_BODY, secret=DOC_SECRET, now=float(DOC_TIMESTAMP)) -> SlackRefusal:
    with pytest.raises(SlackRefusal) as caught:
        verify_request(headers, body, secret, now, 300)
    assert secret not in caught.value.message or not secret
    return caught.value


def test_a_bad_signature_is_refused():
    assert refusal(doc_headers(**{"X-Slack-Signature": "v0=" + "0" * 64})).reason == "bad_signature"
    assert refusal(doc_headers(), body=DOC_BODY + b"&text=approve").reason == "bad_signature"
    assert refusal(doc_headers(), secret="another-secret").reason == "bad_signature"


def test_a_stale_timestamp_is_refused_even_with_a_valid_signature():
    stale = refusal(doc_headers(), now=float(DOC_TIMESTAMP) + 301)
    assert (stale.status, stale.reason) == (401, "stale_request")
    assert refusal(doc_headers(), now=float(DOC_TIMESTAMP) - 301).reason == "stale_request"


def test_missing_headers_and_no_configured_secret_are_refused():
    assert refusal({}).reason == "unsigned"
    assert refusal(doc_headers(**{"X-Slack-Request-Timestamp": "soon"})).reason == "bad_timestamp"
    assert refusal(doc_headers(), secret="").status == 403


def click_body(action_id="logwarden_approve", value=f"approve|{APPROVAL}", user="U123ABC",
               kind="block_actions") -> bytes:
    payload = {"type": kind, "user": {"id": user, "username": "ana"},
               "response_url": "https://hooks.slack.com/actions/T1/123/abc",
               "container": {"type": "message", "message_ts": "1.2"},
               "message": {"text": "[P2] APPROVAL NEEDED", "blocks": [
                   {"type": "header", "text": {"type": "plain_text", "text": "APPROVAL NEEDED"}},
                   approval_buttons(APPROVAL)]},
               "actions": [{"action_id": action_id, "value": value, "action_ts": "1700000000.1"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_a_button_click_is_a_decision():
    click = parse_click(click_body())
    assert (click.approval_id, click.action, click.user_id) == (APPROVAL, "approve", "U123ABC")
    assert click.response_url.startswith("https://hooks.slack.com/")
    escalate = parse_click(click_body("logwarden_escalate", f"escalate|{APPROVAL}"))
    assert escalate.action == "escalate"


def test_the_buttons_carry_the_approval_and_action():
    elements = approval_buttons(APPROVAL)["elements"]
    assert [(e["action_id"], e["value"]) for e in elements] == [
        ("logwarden_approve", f"approve|{APPROVAL}"), ("logwarden_escalate", f"escalate|{APPROVAL}")]


@pytest.mark.parametrize("body", [
    b"payload=not-json", b"nothing=here", click_body(kind="view_submission"),
    click_body(action_id="other_app"), click_body(value=f"escalate|{APPROVAL}"),  # value disagrees with button
    click_body(user=""),
])
def test_anything_else_is_a_clear_400(body):
    with pytest.raises(SlackRefusal) as caught:
        parse_click(body)
    assert caught.value.status == 400


def test_the_replacement_drops_the_buttons_and_shows_the_decision():
    message = replacement(parse_click(click_body()), "Approved by <@U123ABC>.")
    assert message["replace_original"] is True
    assert [b["type"] for b in message["blocks"]] == ["header", "context"]
    assert message["blocks"][-1]["elements"][0]["text"] == "Approved by <@U123ABC>."


def test_replies_go_only_to_slacks_hooks():
    assert reply_url_allowed("https://hooks.slack.com/actions/T1/1/x")
    assert not reply_url_allowed("http://hooks.slack.com/actions/T1/1/x")
    assert not reply_url_allowed("https://169.254.169.254/latest/meta-data")
