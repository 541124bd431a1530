"""Thin Faust shell of the AI stage: ai.requests -> ai.results + ai.audit.

`AIService.handle` never raises and always returns a schema-valid answer (falling
back to the local provider), so this module only decodes, calls, publishes and sends
undecodable requests to the dead-letter topic. Model output is data for the incident
reducer; nothing here acts on it.
"""

from __future__ import annotations

import logging

import faust

from agents.ai.service import AIService
from schemas.records import AIRequest
from streams.logs import trace_context

__all__ = ["register"]

log = logging.getLogger(__name__)

# AI calls are slow and stateless here (the cache is per process): several in flight
# per partition keep one slow model call from stalling the others. At worst a crash
# loses an in-flight request; the incident reducer's AI timeout then decides locally.
CONCURRENCY = 4


def register(app: faust.App, topology, cfg) -> None:
    state: dict[str, AIService] = {}

    def service() -> AIService:
        if "svc" not in state:
            state["svc"] = AIService(cfg.ai)
        return state["svc"]

    @app.agent(topology["ai.requests"], concurrency=CONCURRENCY, name="logwarden.ai")
    async def answer(stream):
        async for event in stream.events():
            try:
                request = AIRequest.model_validate_json(event.value)
            except ValueError as exc:
                await topology.reject(event, "ai", "invalid_request", exc)
                continue
            with trace_context(request.trace_id):
                result, audit = await service().handle(request)
                await topology.publish("ai.results", request.service, result)
                await topology.publish("ai.audit", request.request_id, audit)

    @app.on_before_shutdown.connect
    async def _close(app, **kwargs) -> None:  # noqa: ANN001
        if "svc" in state:
            await state["svc"].aclose()
