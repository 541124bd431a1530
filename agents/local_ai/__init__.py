"""Answers to the AI tasks without a model: deterministic rules that need no key and no network.

Shared by the ai stage (its local provider, and every other provider's fallback) and
the incidents stage (its built-in decisions when an AI answer does not come in time),
which must not import each other, and the baselines stage (the health report's built-in
text). Modules: `classify`, `match`, `narrative`, `review`, `health` (one task each) and
`answers` (the one entry point). Pure: no I/O, no clock, no
Faust, no HTTP; must never import `agents.ai`, `agents.incidents` or `streams`.
"""

from agents.local_ai.answers import LOCAL_MODEL, answer, fallback_output

__all__ = ["LOCAL_MODEL", "answer", "fallback_output"]
