"""Thin web shell of the gateway: webhooks to `alerts.raw`, `POST /logs` to `logs.raw`.

The pure functions decide everything (limits, auth, parsing, status); this module reads
the body with a hard cap, publishes what was accepted and answers 202 only after the
broker acknowledged every record. If the broker does not acknowledge in time the
answer is 503 with Retry-After: never accepted-then-lost.
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust

from agents.gateway.intake import parse_log_intake
from agents.gateway.metrics import ALERTS, LOG_LINES, record_outcome
from agents.gateway.outcomes import broker_unavailable
from agents.gateway.webhook import handle_webhook
from streams.logs import trace_context

__all__ = ["register"]

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0


async def _read_capped(request, limit: int) -> tuple[bytes, bool]:
    """The body, reading at most limit+1 bytes; True when it was larger than the limit."""
    chunks, size = [], 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[: limit + 1], True
    return b"".join(chunks), False


def _too_large(limit: int) -> dict:
    return {"error": "too_large", "message": f"request body is larger than {limit} bytes"}


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    app, topology = stage.app, stage.topology
    gcfg = cfg.gateway

    async def publish_all(records: list[tuple[str, bytes | object, str]]) -> bool:
        try:
            futures = [await topology.publish(topic, key, value, wait=False) for topic, key, value in records]
            await asyncio.wait_for(asyncio.gather(*futures), PUBLISH_TIMEOUT_S)
            return True
        except Exception as exc:  # noqa: BLE001 - any producer failure means: not accepted
            log.warning("gateway publish failed: %s", exc.__class__.__name__)
            return False

    async def webhook(view, request, driver: str | None):
        body, too_large = await _read_capped(request, gcfg.max_body_bytes)
        if too_large:
            return view.json(_too_large(gcfg.max_body_bytes), status=413)
        outcome = handle_webhook(driver, dict(request.headers), body, time.time(), gcfg)
        if outcome.status == 202:
            records = [("alerts.raw", a.service, a) for a in outcome.alerts]
            with trace_context(outcome.alerts[0].trace_id if outcome.alerts else ""):
                ok = await publish_all(records)
            if not ok:
                outcome = broker_unavailable(outcome)
            else:
                for a in outcome.alerts:
                    ALERTS.labels(outcome.driver or "none", a.status).inc()
        record_outcome(outcome)
        return view.json(outcome.body, status=outcome.status, headers=outcome.headers or None)

    @app.page("/alerts/webhook")
    class AutoWebhook(faust.web.View):
        async def post(self, request):
            return await webhook(self, request, None)

    @app.page("/alerts/webhook/{driver}")
    class DriverWebhook(faust.web.View):
        async def post(self, request, driver):
            return await webhook(self, request, driver)

    @app.page("/logs")
    class Logs(faust.web.View):
        async def post(self, request):
            body, too_large = await _read_capped(request, gcfg.max_body_bytes)
            if too_large:
                return self.json(_too_large(gcfg.max_body_bytes), status=413)
            outcome = parse_log_intake(dict(request.headers), body, gcfg, now=time.time(),
                                       query=dict(request.query))
            if outcome.status == 202:
                if await publish_all([("logs.raw", key, value) for key, value in outcome.records]):
                    LOG_LINES.inc(len(outcome.records))
                else:
                    outcome = broker_unavailable(outcome)
            record_outcome(outcome)
            return self.json(outcome.body, status=outcome.status, headers=outcome.headers or None)
