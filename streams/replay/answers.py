"""The replay's AI stage: the answer recorded on the live `ai.results` for the same
request id, else the local provider's (never a model: a replay calls no API).

Request ids are deterministic (incident id, task, counter), so a replay that asks what
the live run asked gets the live run's answer, model or not, and decides the same. The
audit record says which it was: `cached` for a recorded answer, `fallback_reason`
"replay: not recorded" for a local one.
"""

from __future__ import annotations

from typing import Any

from agents.ai.service import AIService
from schemas.effects import Publish
from schemas.records import AIAudit, AIRequest, AIResult

__all__ = ["NOT_RECORDED", "RecordedAnswers", "register"]

NOT_RECORDED = "replay: not recorded"


class RecordedAnswers:
    """Answers of the live run by request id (the first answer of each wins, as in the reducer)."""

    def __init__(self) -> None:
        self.results: dict[str, AIResult] = {}

    def add(self, value: bytes | None) -> None:
        try:
            result = AIResult.model_validate_json(value or b"")
        except ValueError:
            return
        self.results.setdefault(result.request_id, result)

    def __len__(self) -> int:
        return len(self.results)


def register(stage, cfg, recorded: RecordedAnswers) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    local = AIService(cfg.ai.model_copy(update={"provider": "local"}))

    async def answer(request: AIRequest, source: Any) -> list[Publish]:  # noqa: ARG001
        result = recorded.results.get(request.request_id)
        if result is not None:
            audit = AIAudit(request_id=request.request_id, task=request.task, provider=result.provider,
                            model=result.model, cached=True, outcome="cached", at=request.at)
        else:
            result, audit = await local.handle(request)
            audit = audit.model_copy(update={"fallback_reason": NOT_RECORDED})
        return [Publish("ai.results", request.service, result), Publish("ai.audit", request.request_id, audit)]

    async def close() -> None:
        await local.aclose()

    stage.consume({"ai.requests": AIRequest}, answer, invalid_reason="invalid_request")
    stage.on_stop(close)
