"""Thin web shell of the ways to decide: signed links, the bearer API, Slack buttons.

`GET`/`POST /approve-fix`, `GET`/`POST /approvals/{approval_id}`,
`POST /incidents/{incident_id}/actions`, `POST /slack/interactions` on the worker's
web server. The desk (`agents.approvals.desk`) decides every answer; this module reads
requests (bodies bounded), publishes and waits for the broker's acknowledgement, looks
approvals up in the incident state of the worker that owns the service's partition,
and posts Slack's replacement message after answering Slack.

A POST is never proxied (Faust's router forwards no body): the owner is asked with a
`GET /approvals/{id}` marked as routed, which always answers from the local table.
Must never log a URL of Slack's (it authorises posting) or any secret.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, quote

import aiohttp
import faust
from yarl import URL

from agents.approvals.desk import MAX_BODY, Answer, DecisionDesk, Reply
from agents.approvals.links import incident_of_approval
from agents.approvals.standing import Standing, approval_standing, incident_known

__all__ = ["ROUTED_HEADER", "handlers", "register"]

log = logging.getLogger(__name__)

ROUTED_HEADER = "X-Logwarden-Routed"
PUBLISH_TIMEOUT_S = 10.0
LOOKUP_TIMEOUT_S = 5.0


async def read_body(request: Any, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes (read no further than that)."""
    if (request.content_length or 0) > limit:
        return None
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def _too_large() -> Answer:
    return Answer(413, {"error": "too_large", "message": f"the body is over {MAX_BODY} bytes"})


def handlers(desk: DecisionDesk, clock: Callable[[], float] = time.time
             ) -> dict[tuple[str, str], Callable[..., Awaitable[tuple[Answer, Reply | None]]]]:
    """(method, path) -> handler(request, **path parameters) -> (answer, reply to post after)."""

    async def confirm(request: Any) -> tuple[Answer, None]:
        return await desk.confirm_link(dict(request.query), clock()), None

    async def decide_link(request: Any) -> tuple[Answer, None]:
        body = await read_body(request, MAX_BODY)
        if body is None:
            return _too_large(), None
        form = dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=20))
        return await desk.decide_link(dict(request.query), form, clock()), None

    async def decide(request: Any, approval_id: str) -> tuple[Answer, None]:
        body = await read_body(request, MAX_BODY)
        if body is None:
            return _too_large(), None
        return await desk.decide_http(approval_id, request.headers, body, request.remote, clock()), None

    async def act(request: Any, incident_id: str) -> tuple[Answer, None]:
        body = await read_body(request, MAX_BODY)
        if body is None:
            return _too_large(), None
        return await desk.act_http(incident_id, request.headers, body, request.remote, clock()), None

    async def slack(request: Any) -> tuple[Answer, Reply | None]:
        body = await read_body(request, MAX_BODY * 4)
        if body is None:
            return _too_large(), None
        return await desk.slack(request.headers, body, clock())

    return {("GET", "/approve-fix"): confirm, ("POST", "/approve-fix"): decide_link,
            ("POST", "/approvals/{approval_id}"): decide, ("POST", "/incidents/{incident_id}/actions"): act,
            ("POST", "/slack/interactions"): slack}


def register(stage, cfg, *, states_table: str, service_of_incident: Callable[[str], str],  # noqa: ANN001
             read_state: Callable[[Any, str], Any] | None = None) -> None:
    """Declare the views on the stage's app. `states_table` is the incident stage's table
    (present when this worker runs that stage); the service of an incident comes from
    `service_of_incident` (the incident stage's id format); `read_state(table, service)`
    reads a service's whole state from it (stored in parts by the incident stage)."""
    app = stage.app
    replies: set[asyncio.Task] = set()

    def owner(service: str) -> str | URL | None:
        """"here", the owner's URL, or None when nobody can be asked."""
        if states_table not in app.tables:
            return None
        try:
            url = app.router.key_store(states_table, service)
        except Exception:  # noqa: BLE001 - no assignment yet (starting, rebalancing)
            return None
        here = URL(str(app.conf.canonical_url))
        return "here" if (url.host, url.port) == (here.host, here.port) else url

    def local_state(service: str) -> Any:
        if states_table not in app.tables:
            return None
        table = app.tables[states_table]
        return read_state(table, service) if read_state else table.get(service)

    async def ask(url: URL, path: str) -> tuple[int, Any]:
        timeout = aiohttp.ClientTimeout(total=LOOKUP_TIMEOUT_S)
        async with app.http_client.get(str(url.with_path(path)), headers={ROUTED_HEADER: "1"},
                                       timeout=timeout) as response:
            return response.status, (await response.json() if response.status == 200 else None)

    async def approval(approval_id: str) -> Standing | None:
        service = service_of_incident(incident_of_approval(approval_id))
        where = owner(service)
        if where == "here":
            return approval_standing(local_state(service), approval_id, time.time())
        if where is None:
            return None
        try:
            status, data = await ask(where, f"/approvals/{quote(approval_id, safe=':')}")
        except Exception as exc:  # noqa: BLE001 - the reducer still decides: publish without the check
            log.warning("approval lookup on the owner failed: %s", exc.__class__.__name__)
            return None
        return Standing.from_json(data) if status == 200 else Standing(approval_id) if status == 404 else None

    async def incident(incident_id: str) -> bool | None:
        service = service_of_incident(incident_id)
        where = owner(service)
        if where == "here":
            return incident_known(local_state(service), incident_id)
        if where is None:
            return None
        try:
            status, _ = await ask(where, f"/incidents/{quote(incident_id, safe='')}")
        except Exception as exc:  # noqa: BLE001
            log.warning("incident lookup on the owner failed: %s", exc.__class__.__name__)
            return None
        return True if status == 200 else False if status == 404 else None

    async def publish(topic: str, key: str, record: Any) -> bool:
        try:
            await asyncio.wait_for(stage.topology.publish(topic, key, record), PUBLISH_TIMEOUT_S)
            return True
        except Exception as exc:  # noqa: BLE001 - any producer failure means: not recorded
            log.warning("approvals publish to %s failed: %s", topic, exc.__class__.__name__)
            return False

    async def post_reply(reply: Reply) -> None:
        try:
            async with app.http_client.post(reply.url, json=reply.payload,
                                            timeout=aiohttp.ClientTimeout(total=10)) as response:
                if response.status >= 300:
                    log.warning("Slack response_url answered HTTP %d", response.status)
        except Exception as exc:  # noqa: BLE001 - type only: the URL is a credential
            log.warning("posting to Slack's response_url failed: %s", exc.__class__.__name__)

    desk = DecisionDesk(cfg.approvals, publish=publish, approval=approval, incident=incident,
                        service_of=service_of_incident)
    routes = handlers(desk)

    def respond(view: faust.web.View, answer: Answer, reply: Reply | None = None):  # noqa: ANN202
        if reply is not None:
            task = asyncio.ensure_future(post_reply(reply))
            replies.add(task)
            task.add_done_callback(replies.discard)
        headers = {"Cache-Control": "no-store", **answer.headers}
        if answer.is_html:
            return view.html(answer.body, status=answer.status, headers={**headers, "X-Frame-Options": "DENY"})
        return view.json(answer.body, status=answer.status, headers=headers)

    @stage.page("/approve-fix")
    class ApproveFix(faust.web.View):
        async def get(self, request):  # noqa: ANN001
            return respond(self, *await routes["GET", "/approve-fix"](request))

        async def post(self, request):  # noqa: ANN001
            return respond(self, *await routes["POST", "/approve-fix"](request))

    @stage.page("/approvals/{approval_id}")
    class ApprovalView(faust.web.View):
        async def get(self, request, approval_id):  # noqa: ANN001
            service = service_of_incident(incident_of_approval(approval_id))
            if request.headers.get(ROUTED_HEADER) or owner(service) == "here":
                standing = approval_standing(local_state(service), approval_id, time.time())
            else:
                standing = await approval(approval_id)
            if standing is None:
                return self.json({"error": "unavailable", "message": "the owner of this service's state "
                                  "cannot be reached now"}, status=503, headers={"Retry-After": "5"})
            return self.json(standing.to_json(), status=200 if standing.known else 404)

        async def post(self, request, approval_id):  # noqa: ANN001
            return respond(self, *await routes["POST", "/approvals/{approval_id}"](request, approval_id))

    @stage.page("/incidents/{incident_id}/actions")
    class IncidentActions(faust.web.View):
        async def post(self, request, incident_id):  # noqa: ANN001
            return respond(self, *await routes["POST", "/incidents/{incident_id}/actions"](request, incident_id))

    @stage.page("/slack/interactions")
    class SlackInteractions(faust.web.View):
        async def post(self, request):  # noqa: ANN001
            return respond(self, *await routes["POST", "/slack/interactions"](request))
