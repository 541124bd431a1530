"""The incident console in a real browser (headless Chromium over the DevTools protocol).

First against a stub of the worker's HTTP answers (fast: the page's script, the token
kept out of the page, the buttons' requests), then in a real worker on a broker: an
out-of-memory incident gets a proposed runbook, the page lists it with its timeline,
and pressing Approve ends, through the approvals API and the incident reducer, in the
approved state shown on the page. Screenshots go to `test-artifacts/` at the top of the
repository (ignored by git); their paths are printed.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from aiohttp import web

from agents.baselines.book import BUCKETS, SERIES, MemoryBook
from agents.baselines.config import BaselinesConfig
from agents.console.assets import CSS, JS, SECURITY_HEADERS, SHELL
from agents.console.series import remember
from agents.console.web import board_answer
from agents.runbooks.catalog import load_catalog, resolve_index
from tests.conftest import ROOT
from tests.e2e.cdp import Chromium, find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None,
                                reason="no chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")

ARTIFACTS = ROOT / "test-artifacts"
CATALOG = load_catalog(resolve_index("ops/runbooks/index.toml"))
TOKEN = "lw-console-e2e-7c1d9a2b4e6f8a0c"


def _artifact(name: str) -> Path:
    path = ARTIFACTS / name
    print(f"\nscreenshot: {path}")
    return path


# --- the page against a stub of the worker ------------------------------------------------


class StubWorker:
    """The console's routes and the approvals API, answering from one hand-built state."""

    def __init__(self, rings: dict | None = None, baselines: tuple | None = None):
        from tests.unit.console.states import service_state

        # The proposal still open to a decision when the page is read (a past expiry hides the buttons).
        now = time.time()
        self.state = service_state(fix={"proposed_at": now - 60, "expires_at": now + 3600}).model_dump(mode="json")
        self.rings, self.baselines = rings, baselines
        self.posts: list[tuple[str, dict, dict]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    @staticmethod
    def _static(body: str, content_type: str):  # noqa: ANN205 - an aiohttp handler
        async def answer(request: web.Request) -> web.Response:
            return web.Response(text=body, content_type=content_type, headers=SECURITY_HEADERS)
        return answer

    async def board(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "auth_missing", "message": "token"}, status=401)
        return web.json_response(board_answer([self.state], now=time.time(), catalog=CATALOG, rings=self.rings,
                                              baselines=self.baselines, baselines_cfg=BaselinesConfig()))

    async def approve(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.posts.append((request.path, dict(request.headers), body))
        if not self._authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        fix = self.state["fixes"][request.match_info["approval_id"]]
        fix.update(status="approved", approved_by=["http:oncall"])
        return web.json_response({"status": "accepted"}, status=202)

    async def act(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.posts.append((request.path, dict(request.headers), body))
        if body["action"] == "acknowledge":
            self.state["incident"].update(acknowledged_by="http:oncall", acknowledged_at=time.time())
        return web.json_response({"status": "accepted"}, status=202)

    async def __aenter__(self) -> "StubWorker":
        app = web.Application()
        for path, body, content_type in (("/console", SHELL, "text/html"), ("/console/console.js", JS,
                                          "application/javascript"), ("/console/console.css", CSS, "text/css")):
            app.router.add_get(path, self._static(body, content_type))
        app.router.add_get("/console/board", self.board)
        app.router.add_post("/approvals/{approval_id}", self.approve)
        app.router.add_post("/incidents/{incident_id}/actions", self.act)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = "http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()


async def test_the_page_keeps_the_token_out_and_its_buttons_call_the_api(tmp_path):
    async with StubWorker() as stub, Chromium(tmp_path / "profile") as browser:
        # Without a token the page asks for one and shows nothing.
        await browser.navigate(stub.url + "/console")
        await browser.wait_for("!document.getElementById('login').hidden", what="the token form")
        # The token given once in the fragment moves into the tab's session, out of the address.
        await browser.navigate(stub.url + f"/console#token={TOKEN}")
        await browser.wait_for("document.querySelector('article.incident-P1[data-status=open]')",
                               what="the open P1 incident")
        assert TOKEN not in await browser.evaluate("location.href")
        assert TOKEN not in await browser.evaluate("document.documentElement.outerHTML")
        assert await browser.evaluate("document.title") == "(1) Logwarden console"
        text = await browser.evaluate("document.getElementById('board').innerText")
        assert "worker 7 killed: out of memory allocating 1048576 bytes" in text
        assert "fp1:" not in text and "<*>" not in text
        # Escalate without a reason is not sent; Approve is, with the bearer token.
        await browser.click("button[data-act=escalate]")
        await browser.wait_for("document.getElementById('toast').textContent.includes('why you escalate')")
        assert stub.posts == []
        await browser.click("button[data-act=approve]")
        await browser.wait_for("document.querySelector('[data-fix-status=approved]')", what="the approved fix")
        path, headers, body = stub.posts[-1]
        assert path == "/approvals/checkout-20260921T1414Z-1:fix:1" and body == {"action": "approve", "reason": ""}
        assert headers["Authorization"] == f"Bearer {TOKEN}" and headers["Idempotency-Key"].startswith("console-")
        await browser.click("button[data-act=acknowledge]")
        await browser.wait_for("document.querySelector('article[data-status=acknowledged]')", what="acknowledged")
        assert stub.posts[-1][2] == {"action": "acknowledge", "text": ""}
        await browser.screenshot(_artifact("console-stub.png"))
        assert browser.page_errors == []


def _history(now: float) -> tuple[dict, tuple]:
    """Four hours of checkout's windows (about 100 lines a minute, an error burst 50 to 30 minutes
    ago), the ring the console keeps of them, and the baselines' tables after the same windows."""
    from schemas.records import WindowSummary

    book, ring = MemoryBook(BaselinesConfig()), None
    end = (now // 60) * 60
    for m in range(240, 0, -1):
        start = end - 60 * m
        burst = 30 < m <= 50
        errors = 40 if burst else m % 3
        window = WindowSummary(id=f"checkout|{int(start)}|1", service="checkout", window_start=start,
                               window_end=start + 60, status="errors" if errors else "clean",
                               lines=95 + (m * 7) % 11 + errors, errors=errors)
        ring = remember(ring, window)
        book.feed(window)
    return {"checkout": ring}, (book.tables[SERIES], book.tables[BUCKETS])


async def test_the_page_charts_a_service_with_its_band_and_incident(tmp_path):
    now = time.time()
    rings, baselines = _history(now)
    async with StubWorker(rings, baselines) as stub, Chromium(tmp_path / "profile") as browser:
        incident = stub.state["incident"]
        incident.update(opened_at=now - 50 * 60, last_issue_at=now - 31 * 60, resolved_at=now - 25 * 60,
                        status="resolved")
        await browser.navigate(stub.url + f"/console#token={TOKEN}")
        box = "div.service-charts[data-service=checkout]"
        await browser.wait_for(f"document.querySelector('{box} svg.chart path.line')", what="the checkout chart")
        paths = await browser.evaluate(
            f"[...document.querySelectorAll('{box} path.line')].map(p => [p.dataset.series, "
            "p.getAttribute('d').split(/[ML]/).filter(s => s.trim()).length])")
        assert paths == [["lines_per_min", 240], ["errors_per_min", 240]]  # a point per minute of four hours
        spans = await browser.evaluate(
            f"[...document.querySelectorAll('{box} rect.span')].map(r => [r.dataset.incident, "
            "r.getBoundingClientRect().width, r.querySelector('title').textContent])")
        assert len(spans) == 2 and all(s[0] == "checkout-20260921T1414Z-1" for s in spans)
        width = await browser.evaluate(f"document.querySelector('{box} svg.chart').getBoundingClientRect().width")
        # 25 minutes of a six-hour axis, the plot being 720 of the 784 units of the drawing
        assert abs(spans[0][1] - width * 720 / 784 * 25 / 360) < 2
        assert spans[0][2].startswith("P1 checkout: MemoryError on POST /v1/orders (opened")
        assert await browser.evaluate(f"document.querySelectorAll('{box} rect.band').length") >= 4
        text = await browser.evaluate("document.getElementById('services').innerText")
        assert "usual range for this hour of the week" in text and "UTC" in text
        await browser.screenshot(_artifact("console-charts.png"))
        assert browser.page_errors == []


# --- the page in a real worker ------------------------------------------------------------

SERVICE = "checkout"
OOM = json.dumps({"ts": "{ts}", "level": "error", "service": SERVICE, "path": "/v1/orders", "method": "POST",
                  "msg": "worker 7 killed: out of memory allocating 1048576 bytes", "error": "MemoryError"})


@pytest.mark.broker
def test_approve_on_the_console_of_a_real_worker(tansu, tmp_path):
    from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, ensure_topics, minute_lines, produce, wait_for

    bootstrap = tansu.bootstrap
    ensure_topics(bootstrap)
    t0 = (time.time() // 60) * 60 - 3600
    env = base_env(tmp_path, bootstrap, "e2e-console", LOGWARDEN_STAGES=NO_TICKS,
                   LOGWARDEN_APPROVALS__API_TOKENS=f'{{oncall = "{TOKEN}"}}')
    worker = WorkerProcess(env, tmp_path / "run").start()
    try:
        lines = []
        for m in range(0, 4):
            lines += minute_lines(SERVICE, t0, m, errors=[OOM] * 4 if m in (1, 2) else None)
        produce(bootstrap, lines)
        events = wait_for(bootstrap, "incidents.events",
                          lambda evs: any(e["type"] == "fix_proposed" for e in evs), worker=worker)
        proposal = next(e for e in events if e["type"] == "fix_proposed")
        approval_id = proposal["data"]["approval_id"]
        asyncio.run(_approve_in_browser(worker.url, approval_id, tmp_path / "profile"))
        events = wait_for(bootstrap, "incidents.events",
                          lambda evs: any(e["type"] == "fix_approved" for e in evs), worker=worker)
    finally:
        worker.stop()
    approved = next(e for e in events if e["type"] == "fix_approved")
    assert approved["data"]["approval_id"] == approval_id
    assert "http:oncall" in json.dumps(approved)


async def _approve_in_browser(url: str, approval_id: str, profile: Path) -> None:
    async with Chromium(profile) as browser:
        await browser.navigate(f"{url}/console#token={TOKEN}")
        card = f"article.incident[data-incident^='{SERVICE}-']"
        await browser.wait_for(f"document.querySelector(\"{card}[data-status=open] button[data-act=approve]\")",
                               timeout=60, what="the open incident with its proposal")
        timeline = await browser.evaluate(f"[...document.querySelectorAll(\"{card} ol.timeline li\")]"
                                          ".map(li => li.innerText)")
        assert any("incident opened" in t for t in timeline), timeline
        assert any("restart-service" in t or "fix" in t for t in timeline), timeline
        text = await browser.evaluate("document.getElementById('board').innerText")
        assert "restart-service" in text and "DRY RUN" in text and "systemctl restart checkout" in text
        assert "fp1:" not in text and "<*>" not in text
        assert TOKEN not in await browser.evaluate("document.documentElement.outerHTML")
        # The service's windows, read by the console's own consumer, are charted with the incident.
        chart = "div.service-charts[data-service=checkout]"
        await browser.wait_for(f"[...document.querySelectorAll('{chart} path.line')]"
                               ".filter(p => +p.dataset.points >= 2).length == 2",
                               timeout=60, what="the checkout charts with their windows")
        spans = await browser.evaluate(f"[...document.querySelectorAll('{chart} rect.span')].map(r => r.dataset.incident)")
        assert len(spans) == 2 and all(s.startswith(f"{SERVICE}-") for s in spans)
        assert "the baselines stage does not run on this worker" in await browser.evaluate(
            "document.getElementById('services').innerText")  # this worker runs no baselines stage
        await browser.screenshot(_artifact("console-pending.png"))
        await browser.click(f"button[data-act=approve][data-approval='{approval_id}']")
        await browser.wait_for(f"document.querySelector(\"[data-approval='{approval_id}'][data-fix-status=approved]\")",
                               timeout=60, what="the approved fix on the page")
        assert "approved" in await browser.evaluate(f"document.querySelector(\"{card} .fix-state\").innerText")
        await browser.screenshot(_artifact("console.png"))
        assert browser.page_errors == []
