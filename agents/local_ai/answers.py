"""The one no-AI answer to every AI task, and the safe answer when a request is unreadable.

The local provider answers with `answer`; the incident reducer, when an AI request
times out or its answer has the wrong shape, takes `fallback_output` of the payload
it sent. Both are the same rules, so an incident is decided the same way whether the
AI stage answered locally, answered too late, or not at all. Pure: never calls a
model, never reads a clock, and never raises for a task of `schemas.ai_tasks.TASKS`.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from agents.local_ai.classify import classify_locally
from agents.local_ai.health import narrate_health
from agents.local_ai.match import DEFAULT_MATCH_THRESHOLD, match_locally
from agents.local_ai.narrative import narrate_locally
from agents.local_ai.review import review_locally
from schemas.ai_tasks import TASKS, ClassifyInput, ClassifyOutput, MatchOutput, NarrativeOutput, ReviewOutput

__all__ = ["LOCAL_MODEL", "answer", "fallback_output"]

# The `model` of every answer written here, in results and audits.
LOCAL_MODEL = "rules-v1"

# task -> rules answering a valid input of the task (the match threshold passed in)
_RULES: dict[str, Callable[[Any, float], BaseModel]] = {
    "classify": lambda inp, _threshold: _classify(inp),
    "health": lambda inp, _threshold: narrate_health(inp),
    "match": match_locally,
    "report": lambda inp, _threshold: narrate_locally("report", inp),
    "review": lambda inp, _threshold: review_locally(inp),
    "summary": lambda inp, _threshold: narrate_locally("summary", inp),
    "update": lambda inp, _threshold: narrate_locally("update", inp),
}


def _classify(inp: ClassifyInput) -> ClassifyOutput:
    out = classify_locally(inp)
    if inp.incident is not None:  # an incident's first classification also writes its summary
        out.summary = narrate_locally("summary", inp.incident)
    return out


def answer(task: str, inp: BaseModel, match_threshold: float = DEFAULT_MATCH_THRESHOLD) -> BaseModel:
    """The rules' answer to a valid input of `task` (an output model of schemas.ai_tasks)."""
    return _RULES[task](inp, match_threshold)


def _unreadable(task: str, service: str) -> BaseModel:
    """A safe answer when the input cannot be used: changes nothing by itself."""
    if task == "classify":
        return ClassifyOutput(severity="P2", one_off=False, category="unknown",
                              probable_cause="the request could not be read; classified P2 for a human to check",
                              confidence=0.0)
    if task == "match":
        return MatchOutput(entry_id=None, confidence=0.0, reason="the request could not be read")
    if task == "review":
        return ReviewOutput(fix_needed=False, runbook=None, rationale="the request could not be read")
    if task == "health":
        return NarrativeOutput(title="Health report (details unavailable)",
                               text="The health report's numbers could not be read; see the report file.")
    return NarrativeOutput(title=f"{service}: incident (details unavailable)",
                           text="The incident details could not be read; see the incident timeline.")


def fallback_output(task: str, payload: dict[str, Any] | None, service: str = "") -> dict[str, Any]:
    """The no-AI answer to `task` as its output dict.

    The rules' answer when `payload` is a valid input of the task; else (or when it is
    None: the caller could not use it) the safe answer, titled with `service`.
    """
    if payload is not None:
        try:
            inp = TASKS[task][0].model_validate(payload)
        except ValidationError:
            pass
        else:
            return answer(task, inp).model_dump(mode="json")
    return _unreadable(task, service).model_dump(mode="json")
