"""AIService: answers one `AIRequest` with one valid `AIResult` and one `AIAudit`.

Order of work: validate the payload, redact it, answer locally if the local provider is
configured, else cache, budget, model call under a timeout, validation of the answer
(one retry with a correction note), rules a model may not break; any failure falls
back to the local answer with the reason in the audit. `handle` never raises for a
provider problem and never lets a secret into a prompt, a result or an audit.

Probes: a classification is offered the configured probe names (`[[checks.probes]]`)
and may ask for some by name; validation keeps only those names. The local answer asks
for the probes whose `for` lists the category it found. `probe_requests` turns what
was asked into `ProbeRequest` records for the checks stage: a name, never a command.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from pydantic import BaseModel, ValidationError

from agents.ai.budget import HourlyBudget
from agents.ai.cache import AnswerCache, cache_key
from agents.ai.config import AIConfig
from agents.ai.prompting import build_prompt, with_correction
from agents.ai.providers import LocalProvider, Provider, ProviderError, make_provider
from agents.ai.validation import check_output, problems_of
from agents.local_ai import LOCAL_MODEL, fallback_output
from agents.redact import redact
from schemas.ai_tasks import TASKS, ClassifyInput, ReviewInput
from schemas.records import AIAudit, AIRequest, AIResult, ProbeRequest

if TYPE_CHECKING:  # httpx is only imported by the provider modules
    import httpx

__all__ = ["AIService", "probe_requests"]

_CHARS_PER_TOKEN = 4  # rough estimate, only used to check the budget before a call


class _Outcome:
    """What one request turned into, before it becomes a result and an audit."""

    def __init__(self, output: dict[str, Any], *, provider: str, model: str, prompt_version: str = "",
                 outcome: str = "ok", fallback: bool = False, reason: str = "", cached: bool = False,
                 tokens_in: int = 0, tokens_out: int = 0) -> None:
        self.output, self.provider, self.model = output, provider, model
        self.prompt_version, self.outcome, self.fallback = prompt_version, outcome, fallback
        self.reason, self.cached = reason, cached
        self.tokens_in, self.tokens_out = tokens_in, tokens_out


class AIService:
    def __init__(self, cfg: AIConfig, *, clock: Callable[[], float] = time.time,
                 http_client: httpx.AsyncClient | None = None,
                 provider: Provider | None = None, probes: Mapping[str, Sequence[str]] | None = None) -> None:
        self.cfg = cfg
        self._clock = clock
        self._local = LocalProvider()
        self._provider: Provider | None = provider or make_provider(cfg, http_client=http_client)
        self._cache = AnswerCache(cfg.cache_ttl_s, cfg.cache_max_entries)
        self._budget = HourlyBudget(cfg.max_calls_per_hour, cfg.max_tokens_per_hour)
        self.allowlist = cfg.runbooks  # read from the index once, when the configuration was loaded
        # Configured probe name -> the finding categories the local answer asks for it on.
        self.probe_for = {name: frozenset(kinds) for name, kinds in (probes or {}).items()}
        self.probes = frozenset(self.probe_for)

    # -- helpers ---------------------------------------------------------------------

    def _redact_tree(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, mask_ips=self.cfg.redact_ips)
        if isinstance(value, dict):
            return {self._redact_tree(k): self._redact_tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact_tree(v) for v in value]
        return value

    def _local_outcome(self, task: str, inp: BaseModel, *, provider: str, outcome: str = "ok",
                       reason: str = "", prompt_version: str = "", tokens: tuple[int, int] = (0, 0)) -> _Outcome:
        answer = self._local.answer(task, inp)
        data = answer.model_dump(mode="json")
        if isinstance(inp, ClassifyInput) and inp.probes:
            data["probes"] = sorted(n for n in inp.probes if data.get("category") in self.probe_for.get(n, ()))
        output, _, _ = check_output(task, inp, data, self.allowlist, self.probes)
        assert output is not None  # the local answer is built from the output model itself
        return _Outcome(output, provider=provider, model=LOCAL_MODEL, prompt_version=prompt_version,
                        outcome=outcome, fallback=provider != "local" or outcome != "ok", reason=reason,
                        tokens_in=tokens[0], tokens_out=tokens[1])

    # -- the work --------------------------------------------------------------------

    async def handle(self, request: AIRequest) -> tuple[AIResult, AIAudit]:
        started = self._clock()
        try:
            result = await self._answer(request, started)
        except Exception as exc:  # noqa: BLE001 - the incident flow must keep moving
            # The payload is not known to be redacted here: answer without reading it.
            output = fallback_output(request.task, None, request.service)
            result = _Outcome(output, provider="local", model=LOCAL_MODEL, outcome="error", fallback=True,
                              reason=f"internal_error:{type(exc).__name__}")
        latency_ms = max(0.0, (self._clock() - started) * 1000.0)
        return self._records(request, result, started, latency_ms)

    def answer_locally(self, request: AIRequest) -> tuple[AIResult, AIAudit]:
        """The local provider's answer, at once (no await: a replay folds it into the very
        step that asked, `agents.incidents.fold`)."""
        inp = self._input(request)
        outcome = inp if isinstance(inp, _Outcome) else self._local_outcome(request.task, inp, provider="local")
        now = self._clock()
        return self._records(request, outcome, now, 0.0)

    def _input(self, request: AIRequest) -> BaseModel | _Outcome:
        """The request's payload, redacted and validated, or the built-in answer to a bad one."""
        task = request.task
        in_model, _ = TASKS[task]
        try:
            inp = in_model.model_validate(self._redact_tree(request.payload))
        except ValidationError as exc:
            output = fallback_output(task, None, redact(request.service))
            return _Outcome(output, provider="local", model=LOCAL_MODEL, outcome="error", fallback=True,
                            reason="invalid_request:" + ",".join(problems_of(exc))[:300])
        if isinstance(inp, ReviewInput):
            # The model sees, and may choose from, only runbooks that are both offered and allowlisted.
            inp.runbooks = sorted(self.allowlist & set(inp.runbooks) if inp.runbooks else self.allowlist)
        if isinstance(inp, ClassifyInput):
            # The model sees, and may ask for, only probes that are configured (and offered, if any were).
            inp.probes = sorted(self.probes & set(inp.probes) if inp.probes else self.probes)
        return inp

    async def _answer(self, request: AIRequest, now: float) -> _Outcome:
        inp = self._input(request)
        if isinstance(inp, _Outcome):
            return inp
        task = request.task
        out_model = TASKS[task][1]
        if self._provider is None:
            return self._local_outcome(task, inp, provider="local")

        provider = self._provider
        data = inp.model_dump(mode="json")
        key = cache_key(task, request.fingerprint, data)
        hit = self._cache.get(key, now)
        if hit is not None:
            output, model = hit
            return _Outcome(output, provider=provider.name, model=model, outcome="cached", cached=True)

        prompt = build_prompt(task, data, out_model.model_json_schema())
        tokens_in = tokens_out = 0
        estimate = (len(prompt.system) + len(prompt.user)) // _CHARS_PER_TOKEN + self.cfg.max_output_tokens
        for attempt in (1, 2):
            refusal = self._budget.refusal(now, estimate)
            if refusal:
                return self._local_outcome(task, inp, provider=provider.name, outcome="over_budget",
                                           reason=f"over_budget:{refusal}", prompt_version=prompt.version,
                                           tokens=(tokens_in, tokens_out))
            entry = self._budget.record(now, estimate)
            try:
                reply = await asyncio.wait_for(provider.complete(prompt, max_tokens=self.cfg.max_output_tokens),
                                               timeout=self.cfg.timeout_s)
            except (asyncio.TimeoutError, ProviderError) as exc:
                timed_out = isinstance(exc, asyncio.TimeoutError) or getattr(exc, "reason", "") == "timeout"
                reason = "timeout" if timed_out else exc.reason  # type: ignore[union-attr]
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is not None:
                    reason += f";retry_after={retry_after:g}s"
                return self._local_outcome(task, inp, provider=provider.name,
                                           outcome="timeout" if timed_out else "error",
                                           reason=reason, prompt_version=prompt.version,
                                           tokens=(tokens_in, tokens_out))
            tokens_in += reply.tokens_in
            tokens_out += reply.tokens_out
            self._budget.correct(entry, reply.tokens_in + reply.tokens_out)
            output, problems, notes = check_output(task, inp, reply.data, self.allowlist, self.probes)
            if output is not None:
                self._cache.put(key, now, output, reply.model)
                return _Outcome(output, provider=provider.name, model=reply.model, prompt_version=prompt.version,
                                reason=("overridden:" + ",".join(notes)) if notes else "",
                                tokens_in=tokens_in, tokens_out=tokens_out)
            if attempt == 1:
                prompt = with_correction(prompt, problems)
        return self._local_outcome(task, inp, provider=provider.name, outcome="invalid_output",
                                   reason="invalid_output_after_retry", prompt_version=prompt.version,
                                   tokens=(tokens_in, tokens_out))

    def _records(self, request: AIRequest, o: _Outcome, now: float, latency_ms: float) -> tuple[AIResult, AIAudit]:
        result = AIResult(
            trace_id=request.trace_id, request_id=request.request_id, task=request.task,
            service=request.service, incident_id=request.incident_id, fingerprint=request.fingerprint,
            at=request.at, output=o.output, provider="local" if o.fallback else o.provider,
            model=o.model, fallback=o.fallback,
        )
        audit = AIAudit(
            trace_id=request.trace_id, request_id=request.request_id, task=request.task,
            provider=o.provider, model=o.model, prompt_version=o.prompt_version or "local",
            tokens_in=o.tokens_in, tokens_out=o.tokens_out, latency_ms=round(latency_ms, 3),
            cached=o.cached, fallback=o.fallback, fallback_reason=o.reason,
            outcome=o.outcome,  # type: ignore[arg-type]
            at=now,
        )
        return result, audit

    async def aclose(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()


def probe_requests(result: AIResult) -> list[ProbeRequest]:
    """The probes a checked classification asked for, as requests for the checks stage (names only)."""
    if result.task != "classify":
        return []
    names = result.output.get("probes") or []
    return [ProbeRequest(id=f"{result.request_id}|{name}", trace_id=result.trace_id, service=result.service,
                         incident_id=result.incident_id, probe=name, requested_by=f"ai:{result.provider}",
                         at=result.at)
            for name in names if isinstance(name, str)]
