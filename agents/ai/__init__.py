"""ai stage: answers `ai.requests` with a model provider (providers/) or the local rules.

`service.AIService` is the whole stage for the shell (agent.py): redaction, cache,
budget, prompt, provider call, validation, local fallback. The local rules live in
agents.local_ai, shared with the incidents stage; this package never imports the
incidents stage (agents.incidents), nor that stage this one.
"""
