"""Thin web shell of the gateway: webhooks to `alerts.raw`, `POST /logs` to `logs.raw`.

Every body is read by `agents.gateway.web.read_body` (size before and after decoding,
one decoding, a deadline); the pure functions decide everything else, run step by step
so a large request never holds the event loop. Records are published in batches
(`agents.gateway.publish`); the answer is 202 only after the broker acknowledged every
one. If the broker does not acknowledge in time the answer is 503 with Retry-After: never
accepted-then-lost (the sender's retry may then write some lines twice: at-least-once,
as everywhere in Logwarden). Every answer is JSON and counted in the gateway metrics.
"""

from __future__ import annotations

import time
from dataclasses import replace

import faust

from agents.gateway.intake import log_intake
from agents.gateway.metrics import ALERTS, LOG_LINES, record_outcome
from agents.gateway.opsguard import opsguard_intake
from agents.gateway.outcomes import GatewayOutcome, LogIntakeOutcome, Rejection, broker_unavailable
from agents.gateway.publish import publish_all
from agents.gateway.web import read_body, stepwise
from agents.gateway.webhook import forced_driver, handle_webhook
from agents.tracing import trace_context

__all__ = ["register"]


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    app, topology = stage.app, stage.topology
    gcfg = cfg.gateway

    async def publish(topic: str, records) -> bool:  # noqa: ANN001 - (key, value) pairs
        return await publish_all(app, topology[topic].get_topic_name(), records)

    def answer(view, outcome: GatewayOutcome | LogIntakeOutcome, sent_bytes: int, *, close: bool = False):
        outcome = replace(outcome, payload_bytes=sent_bytes)
        record_outcome(outcome)
        response = view.json(outcome.body, status=outcome.status, headers=outcome.headers or None)
        if close:  # the body was not read to its end: do not wait for the rest
            response.force_close()
        return response

    async def webhook(view, request, driver: str | None):
        try:
            forced_driver(driver)
            data, sent = await read_body(request, gcfg)
        except Rejection as rejection:
            return answer(view, GatewayOutcome.refused(rejection, driver or "", 0),
                          request.content_length or 0, close=True)
        outcome = handle_webhook(driver, request.headers, data, time.time(), gcfg)
        if outcome.status == 202:
            with trace_context(outcome.alerts[0].trace_id if outcome.alerts else ""):
                ok = await publish("alerts.raw", [(a.service, a) for a in outcome.alerts])
            if not ok:
                outcome = broker_unavailable(outcome)
            else:
                for a in outcome.alerts:
                    ALERTS.labels(outcome.driver or "none", a.status).inc()
        return answer(view, outcome, sent)

    @app.page("/alerts/webhook")
    class AutoWebhook(faust.web.View):
        async def post(self, request):
            return await webhook(self, request, None)

    @app.page("/alerts/webhook/{driver}")
    class DriverWebhook(faust.web.View):
        async def post(self, request, driver):
            return await webhook(self, request, driver)

    async def take_lines(view, request, intake):  # noqa: ANN001 - intake(body) -> LogIntakeOutcome
        try:
            data, sent = await read_body(request, gcfg)
        except Rejection as rejection:
            return answer(view, LogIntakeOutcome.refused(rejection, 0), request.content_length or 0, close=True)
        outcome = await intake(data)
        del data  # the records hold what is kept; the body can go before publishing
        return answer(view, await publish_lines(outcome), sent)

    async def publish_lines(outcome: LogIntakeOutcome) -> LogIntakeOutcome:
        if outcome.status == 202:
            if not await publish("logs.raw", outcome.records):
                return broker_unavailable(outcome)
            LOG_LINES.inc(len(outcome.records))
        return outcome

    @app.page("/logs")
    class Logs(faust.web.View):
        async def post(self, request):
            return await take_lines(self, request, lambda data: stepwise(log_intake(
                request.headers, data, gcfg, now=time.time(), query=dict(request.query),
                fields=cfg.extract.service_fields, service_map=cfg.extract.service_map)))

    @app.page("/ingest-alert")
    class OpsGuardAlert(faust.web.View):  # OpsGuard's API (agents.gateway.opsguard)
        async def post(self, request):
            async def intake(data: bytes) -> LogIntakeOutcome:
                return opsguard_intake(request.headers, data, gcfg, now=time.time(),
                                       service_map=cfg.extract.service_map)

            return await take_lines(self, request, intake)
