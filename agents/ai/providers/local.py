"""The local provider: every task answered by the rules of `agents.local_ai`, no key, no network.

It is the default provider and the fallback of every other one, so it must answer
every valid input of every task and must never raise for one. It takes validated,
redacted inputs, not prompts: there is no model to prompt.
"""

from __future__ import annotations

from pydantic import BaseModel

from agents.local_ai import LOCAL_MODEL, answer
from agents.local_ai.match import DEFAULT_MATCH_THRESHOLD

__all__ = ["LocalProvider"]


class LocalProvider:
    name = "local"
    model = LOCAL_MODEL

    def __init__(self, match_threshold: float = DEFAULT_MATCH_THRESHOLD) -> None:
        self._match_threshold = match_threshold

    def answer(self, task: str, inp: BaseModel) -> BaseModel:
        return answer(task, inp, self._match_threshold)
