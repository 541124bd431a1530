"""Discord, ntfy and the generic webhook: exact requests and what the receiver gets."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import NTFY_TOKEN, NTFY_TOPIC, WEBHOOK_HMAC, all_channels_config


async def test_discord_posts_an_embed_then_edits_it(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    [first] = await notifier.deliver(message(channels=["discord"]))
    await notifier.deliver(message("resolved", key="r1", channels=["discord"]))
    post, patch = vendors.discord.requests
    assert (post.method, post.path, post.query) == ("POST", "/api/webhooks/4242/DISCORDsecretTOKEN", {"wait": "true"})
    assert post.json()["allowed_mentions"] == {"parse": []}  # log text never pings @everyone
    assert (patch.method, patch.path) == ("PATCH", f"/api/webhooks/4242/DISCORDsecretTOKEN/messages/{first.external_ref}")
    [shown] = vendors.discord.messages.values()
    assert shown["embeds"][0]["title"].startswith("[P2] RESOLVED checkout")


async def test_ntfy_headers_carry_title_priority_tags_and_click(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    await notifier.deliver(message(severity="P1", title="Zahlungsdienst außer Betrieb", channels=["ntfy"]))
    [request] = vendors.ntfy.requests
    assert (request.method, request.path) == ("POST", f"/{NTFY_TOPIC}")
    assert request.headers["authorization"] == f"Bearer {NTFY_TOKEN}"
    assert request.headers["priority"] == "5" and request.headers["tags"] == "rotating_light,p1,checkout"
    assert request.headers["title"].startswith("=?UTF-8?B?")  # RFC 2047 for non-ASCII
    assert request.headers["click"] == "https://logwarden.test/incidents/inc-checkout-1"
    assert request.body.decode().startswith("[P1] ALERT checkout: Zahlungsdienst außer Betrieb")


async def test_webhook_body_is_signed_and_carries_the_idempotency_key(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    msg = message(channels=["webhook"])
    [receipt] = await notifier.deliver(msg)
    [request] = vendors.webhook.requests
    assert request.headers["idempotency-key"] == msg.key
    digest = hmac.new(WEBHOOK_HMAC.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-logwarden-signature"] == f"sha256={digest}"
    body = json.loads(request.body)
    assert (body["key"], body["kind"], body["severity"], body["version"]) == (msg.key, "alert", "P2", 1)
    assert receipt.status == "delivered"


async def test_webhook_with_a_wrong_secret_is_rejected_permanently(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config(webhook={"hmac_secret": "another-secret"}))
    [receipt] = await notifier.deliver(message(channels=["webhook"]))
    assert (receipt.status, receipt.attempts, receipt.error) == ("failed", 1, "http_401: HTTP 401")
