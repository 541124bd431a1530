"""Notifications that carry a proposal carry the ways to decide: signed links everywhere
(the console shows the approve link), Approve/Escalate buttons in Slack."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from agents.approvals.links import LinkCheck, check_link, parse_link, with_decision_links
from agents.notify.channels.console import ConsoleChannel
from agents.notify.channels.slack import SlackChannel
from agents.notify.config import ConsoleSettings, SlackSettings
from schemas.records import OutboxMessage
from tests.unit.approvals.conftest import APPROVAL, INCIDENT, LINK_SECRET, NOW


def proposal() -> OutboxMessage:
    return OutboxMessage(key=f"{APPROVAL}|approval_request", kind="approval_request", incident_id=INCIDENT,
                         service="checkout", severity="P2", title="Fix proposed: restart php-fpm",
                         fields={"approval_id": APPROVAL, "incident_id": INCIDENT, "runbook": "restart-php-fpm"},
                         at=NOW)


def linked() -> OutboxMessage:
    return with_decision_links(proposal(), "https://lw.example.test", LINK_SECRET, 3600, NOW)


async def test_the_console_shows_a_working_approve_link(tmp_path):
    out = io.StringIO()
    channel = ConsoleChannel(ConsoleSettings(path=tmp_path / "n.jsonl", print=True), stream=out)
    assert (await channel.send(linked(), {})).outcome == "delivered"
    printed = out.getvalue()
    approve = next(word for word in printed.split() if word.startswith("https://lw.example.test/approve-fix?"))
    query = dict(parse_qsl(urlsplit(approve).query))
    assert query["action"] == "approve" and query["approval"] == APPROVAL
    assert check_link(LINK_SECRET, parse_link(query), NOW) is LinkCheck.OK
    line = json.loads((tmp_path / "n.jsonl").read_text())
    assert line["links"]["approve"] == approve and "escalate" in line["links"]
    assert LINK_SECRET not in printed


async def test_slack_gets_approve_and_escalate_buttons():
    sent: list[dict] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, text="ok")

    async with httpx.AsyncClient(transport=httpx.MockTransport(vendor)) as client:
        channel = SlackChannel(SlackSettings(webhook_url=SecretStr("https://hooks.slack.test/T/B/x")), client)
        # The notify stage marks proposals for buttons only when a signing secret can verify clicks.
        buttons = linked().model_copy(update={"fields": {**linked().fields, "slack_buttons": "true"}})
        assert (await channel.send(buttons, {})).outcome == "delivered"
        await channel.send(proposal().model_copy(update={"kind": "alert"}), {})
        await channel.send(linked(), {})  # no signing secret configured: no buttons nobody could verify
    actions = [b for b in sent[0]["blocks"] if b["type"] == "actions"]
    assert [e["value"] for e in actions[0]["elements"]] == [f"approve|{APPROVAL}", f"escalate|{APPROVAL}"]
    assert not [b for b in sent[1]["blocks"] if b["type"] == "actions"]  # only proposals have buttons
    assert not [b for b in sent[2]["blocks"] if b["type"] == "actions"]
