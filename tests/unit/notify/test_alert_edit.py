"""The first alert edited in place when the AI summary arrives (`alert_edit`): same
message, no new ping, routed wherever the alert went."""

from __future__ import annotations

from agents.notify.config import NotifyConfig, RouteRule
from agents.notify.routing import route
from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import SLACK_BOT_TOKEN, all_channels_config

BOT = {"slack": {"webhook_url": "", "bot_token": SLACK_BOT_TOKEN, "api_base": "https://slack.test/api"}}


async def test_slack_edits_the_first_alert_without_a_thread_reply(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config(**BOT))
    [first] = await notifier.deliver(message("alert", channels=["slack"]))
    [edit] = await notifier.deliver(message("alert_edit", key="e1", title="model title", channels=["slack"]))
    assert [r.path for r in vendors.slack.requests] == ["/api/chat.postMessage", "/api/chat.update"]
    update = vendors.slack.requests[1].json()
    assert update["ts"] == first.external_ref == edit.external_ref
    assert update["text"].startswith("[P2] ALERT (edited) checkout: model title")


async def test_telegram_edits_the_first_alert_message(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    await notifier.deliver(message("alert", channels=["telegram"]))
    await notifier.deliver(message("alert_edit", key="e1", title="model title", channels=["telegram"]))
    assert [r.path.rsplit("/", 1)[-1] for r in vendors.telegram.requests] == ["sendMessage", "editMessageText"]


def test_an_edit_is_routed_like_the_alert_it_edits():
    cfg = NotifyConfig(routes=[RouteRule(kinds=["alert"], severities=["P1"], channels=["pagerduty"]),
                               RouteRule(kinds=["update"], channels=["slack"])])
    configured = ["console", "pagerduty", "slack"]
    assert route(message("alert_edit", severity="P1"), cfg, configured) == ["pagerduty"]
    assert route(message("alert_edit", severity="P1"), cfg, configured) == route(
        message("alert", severity="P1"), cfg, configured)
