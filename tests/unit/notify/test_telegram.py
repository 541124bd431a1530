"""Telegram: the exact sendMessage request, HTML escaping, edits, replies on re-alert."""

from __future__ import annotations

from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import TELEGRAM_TOKEN, all_channels_config


async def test_send_message_request_is_html_and_escaped(make_notifier, vendors, java_trace):
    notifier = make_notifier(**all_channels_config())
    [receipt] = await notifier.deliver(message(severity="P1", body=java_trace, channels=["telegram"]))
    [request] = vendors.telegram.requests
    assert (request.method, request.path) == ("POST", f"/bot{TELEGRAM_TOKEN}/sendMessage")
    body = request.json()
    assert body["chat_id"] == "-1001234567890" and body["parse_mode"] == "HTML"
    assert body["text"].startswith("<b>[P1] ALERT checkout: upstream connect() failed")
    assert "&lt;[REDACTED_EMAIL_ADDRESS]&gt;" in body["text"]
    assert receipt.status == "delivered" and receipt.external_ref == "101"


async def test_update_edits_the_incident_message_and_realert_replies(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    await notifier.deliver(message("alert", severity="P1", channels=["telegram"]))
    [edit] = await notifier.deliver(message("update", key="u1", severity="P1", title="still failing", channels=["telegram"]))
    [again] = await notifier.deliver(message("alert", key="a2", severity="P1", title="worse", channels=["telegram"]))
    methods = [r.path.rsplit("/", 1)[1] for r in vendors.telegram.requests]
    assert methods == ["sendMessage", "editMessageText", "sendMessage"]
    assert vendors.telegram.messages[101]["text"].startswith("<b>[P1] UPDATE checkout: still failing")
    assert vendors.telegram.messages[102]["reply_to"] == 101  # a re-alert pings, threaded
    assert edit.external_ref == "101" and again.external_ref == "102"


async def test_429_parameters_retry_after_and_group_rate_limit(make_notifier, vendors, clock):
    notifier = make_notifier(**all_channels_config())
    vendors.telegram.script = [vendors.telegram.error(429)]
    [receipt] = await notifier.deliver(message(channels=["telegram"]))
    assert receipt.attempts == 2 and clock.sleeps[0] == 7.0
    # 25 more messages to the group: at most 20 a minute, at least one second apart.
    sent_at: list[float] = []
    vendors.telegram.on_request = lambda seen: sent_at.append(clock.now)
    for n in range(25):
        await notifier.deliver(message(key=f"k{n}", incident_id=f"i{n}", channels=["telegram"]))
    assert len(sent_at) == 25 and len(vendors.telegram.messages) == 26
    assert min(b - a for a, b in zip(sent_at, sent_at[1:])) >= 1.0
    assert max(sum(1 for t in sent_at if s <= t < s + 60) for s in sent_at) <= 20
