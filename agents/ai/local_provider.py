"""The local provider: every task answered by deterministic rules, no key, no network.

It is the default provider and the fallback of every other one, so it must answer
every valid input of every task and must never raise for one. `fallback_output` also
answers requests whose payload could not even be read.
"""

from __future__ import annotations

from typing import Callable

from pydantic import BaseModel

from agents.ai.local_classify import classify_locally
from agents.ai.local_match import DEFAULT_MATCH_THRESHOLD, match_locally
from agents.ai.local_narrative import narrate_locally
from agents.ai.local_review import review_locally
from schemas.ai_tasks import (
    ClassifyOutput,
    MatchOutput,
    NarrativeOutput,
    ReviewOutput,
)

__all__ = ["LOCAL_MODEL", "LocalProvider", "fallback_output"]

LOCAL_MODEL = "rules-v1"


class LocalProvider:
    name = "local"
    model = LOCAL_MODEL

    def __init__(self, match_threshold: float = DEFAULT_MATCH_THRESHOLD) -> None:
        self._answers: dict[str, Callable[[BaseModel], BaseModel]] = {
            "classify": classify_locally,  # type: ignore[dict-item]
            "match": lambda inp: match_locally(inp, match_threshold),  # type: ignore[arg-type]
            "summary": lambda inp: narrate_locally("summary", inp),  # type: ignore[arg-type]
            "update": lambda inp: narrate_locally("update", inp),  # type: ignore[arg-type]
            "report": lambda inp: narrate_locally("report", inp),  # type: ignore[arg-type]
            "review": review_locally,  # type: ignore[dict-item]
        }

    def answer(self, task: str, inp: BaseModel) -> BaseModel:
        return self._answers[task](inp)


def fallback_output(task: str, service: str) -> BaseModel:
    """A safe answer when even the request could not be read: changes nothing by itself."""
    if task == "classify":
        return ClassifyOutput(severity="P2", one_off=False, category="unknown",
                              probable_cause="the request could not be read; classified P2 for a human to check",
                              confidence=0.0)
    if task == "match":
        return MatchOutput(entry_id=None, confidence=0.0, reason="the request could not be read")
    if task == "review":
        return ReviewOutput(fix_needed=False, runbook=None, rationale="the request could not be read")
    return NarrativeOutput(title=f"{service}: incident (details unavailable)",
                           text="The incident details could not be read; see the incident timeline.")
