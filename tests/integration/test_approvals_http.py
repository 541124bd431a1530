"""The ways to decide over real HTTP (an aiohttp server, no broker): the request readers
of `agents.approvals.web` in front of the desk, a broker stub behind it."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agents.approvals.desk import DecisionDesk
from agents.approvals.web import handlers
from tests.unit.approvals.conftest import APPROVAL, INCIDENT, NOW, TOKEN, Broker, States, config, service_of
from tests.unit.approvals.test_desk import link, slack_headers
from tests.unit.approvals.test_slack import click_body


def server_app(desk: DecisionDesk) -> web.Application:
    app = web.Application()
    for (method, path), handler in handlers(desk, clock=lambda: NOW).items():
        async def view(request: web.Request, handler=handler) -> web.Response:
            answer, _reply = await handler(request, **request.match_info)
            if answer.is_html:
                return web.Response(text=answer.body, status=answer.status, content_type="text/html",
                                    headers=answer.headers)
            return web.json_response(answer.body, status=answer.status, headers=answer.headers)
        app.router.add_route(method, path, view)
    return app


@pytest.fixture
async def http():
    broker, states = Broker(), States()
    desk = DecisionDesk(config(), publish=broker.publish, approval=states.approval, incident=states.incident,
                        service_of=service_of)
    async with TestClient(TestServer(server_app(desk))) as client:
        yield client, broker, states


async def test_a_link_click_confirm_then_decide_then_reuse(http):
    client, broker, states = http
    query = link()
    page = await client.get("/approve-fix", params=query)
    assert page.status == 200 and broker.records == []
    action = html.unescape(re.search(r'action="([^"]+)"', await page.text()).group(1))
    decided = await client.post(urlsplit(action).path + "?" + urlsplit(action).query, data={"reason": "go"})
    assert decided.status == 202 and "recorded" in await decided.text()
    assert [(t, r.action, r.reason) for t, _k, r in broker.records] == [("approvals", "approve", "go")]
    states.decide(APPROVAL, "approved", "link")
    reused = await client.post(action, data={})
    assert reused.status == 409 and "already approved" in await reused.text()
    assert len(broker.records) == 1


async def test_a_forged_link_over_http(http):
    client, broker, _ = http
    response = await client.post("/approve-fix", params={**link(), "sig": "0" * 64})
    assert response.status == 403 and response.content_type == "text/html"
    assert broker.records == []


async def test_the_bearer_api_over_http(http):
    client, broker, _ = http
    missing = await client.post(f"/approvals/{APPROVAL}", json={"action": "approve"})
    assert missing.status == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await missing.json())["error"] == "unauthorized"
    ok = await client.post(f"/approvals/{APPROVAL}", json={"action": "approve", "reason": "ok"},
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 202 and (await ok.json())["actor"] == "http:ops"
    act = await client.post(f"/incidents/{INCIDENT}/actions", json={"action": "resolve", "text": "fixed by hand"},
                            headers={"Authorization": f"Bearer {TOKEN}"})
    assert act.status == 202
    assert [t for t, _k, _r in broker.records] == ["approvals", "incidents.actions"]


async def test_an_oversized_body_is_413_and_unread(http):
    client, broker, _ = http
    response = await client.post(f"/approvals/{APPROVAL}", data=b"x" * 100_000,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 413 and broker.records == []


async def test_a_signed_slack_click_over_http(http):
    client, broker, _ = http
    raw = click_body()
    response = await client.post("/slack/interactions", data=raw, headers=slack_headers(raw))
    assert response.status == 200
    assert broker.records[0][2].actor == "slack:U123ABC"
    refused = await client.post("/slack/interactions", data=raw, headers=slack_headers(raw, at=NOW - 3600))
    assert refused.status == 401 and json.loads(await refused.text())["error"] == "stale_request"
    assert len(broker.records) == 1
