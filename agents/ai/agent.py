"""Thin shell of the AI stage: ai.requests -> ai.results + ai.audit.

(A `health` answer goes to `health.parts` instead, back to the baselines stage's
report assembler that asked: `REPLY_TO`.)

`AIService.handle` never raises and always returns a schema-valid answer (falling
back to the local provider), so this module only declares the input and publishes the
answer and its audit record. Model output is data for the incident reducer; nothing
here acts on it, except that probes a classification asked for by name (validated
against `[[checks.probes]]`) are published on `checks.requests` for the checks stage,
which runs only what its own configuration names.
"""

from __future__ import annotations

from agents.ai.service import AIService, probe_requests
from schemas.effects import Publish
from schemas.records import AIRequest

__all__ = ["register"]

# AI calls are slow and stateless here (the cache is per process): several in flight
# per partition keep one slow model call from stalling the others. At worst a crash
# loses an in-flight request; the incident reducer's AI timeout then decides locally.
CONCURRENCY = 4

# task -> (topic, key) of its answer when not `ai.results` keyed by service: the health
# report's words go back to the report assembler that asked (agents/baselines/report.py,
# one partition), never to the incident reducer.
REPLY_TO = {"health": ("health.parts", "health")}


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    holder: dict[str, AIService] = {}

    def service() -> AIService:
        if "svc" not in holder:
            holder["svc"] = AIService(cfg.ai, probes={p.name: p.for_ for p in cfg.checks.probes})
        return holder["svc"]

    async def answer(request: AIRequest, source) -> list[Publish]:  # noqa: ANN001
        result, audit = await service().handle(request)
        topic, key = REPLY_TO.get(request.task, ("ai.results", request.service))
        return [Publish(topic, key, result), Publish("ai.audit", request.request_id, audit),
                *(Publish("checks.requests", r.service, r) for r in probe_requests(result))]

    async def close() -> None:
        if "svc" in holder:
            await holder["svc"].aclose()

    stage.consume({"ai.requests": AIRequest}, answer, concurrency=CONCURRENCY, invalid_reason="invalid_request")
    stage.on_stop(close)
