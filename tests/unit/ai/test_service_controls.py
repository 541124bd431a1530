"""Cost and failure control: cache, hourly budget, timeout, bad requests, local default."""

from __future__ import annotations

import asyncio

from agents.ai.config import AIConfig
from agents.ai.service import AIService
from schemas.ai_tasks import ClassifyOutput, NarrativeOutput
from schemas.records import AIRequest
from tests.unit.ai.conftest import RUNBOOKS_INDEX, FakeClock, classify_request, finding
from tests.unit.ai.fakes import openai_reply

ANSWER = {"severity": "P2", "one_off": False, "category": "dependency", "probable_cause": "x", "confidence": 0.6}


async def test_a_fingerprint_is_classified_once_per_ttl(fake_server, openai_cfg):
    clock = FakeClock()
    cfg = openai_cfg.model_copy(update={"cache_ttl_s": 600})
    fake_server.replies += [openai_reply(ANSWER), openai_reply(ANSWER)]
    service = AIService(cfg, clock=clock)
    first = await service.handle(classify_request(finding(count=3)))
    # Same fingerprint in a later window, other counts: still the cached answer.
    clock.now += 300
    second = await service.handle(classify_request(finding(count=40)))
    clock.now += 301
    third = await service.handle(classify_request(finding(count=7)))
    await service.aclose()
    assert len(fake_server.requests) == 2
    assert (first[1].outcome, second[1].outcome, third[1].outcome) == ("ok", "cached", "ok")
    assert second[1].cached and second[0].output == ANSWER and second[1].tokens_in == 0


async def test_over_the_call_budget_answers_locally_until_the_hour_moves(fake_server, openai_cfg):
    clock = FakeClock()
    cfg = openai_cfg.model_copy(update={"max_calls_per_hour": 2, "cache_ttl_s": 0})
    fake_server.replies += [openai_reply(ANSWER)] * 3
    service = AIService(cfg, clock=clock)
    outcomes = []
    for i in range(3):
        _, audit = await service.handle(classify_request(finding(fingerprint=f"fp1:{i}")))
        outcomes.append(audit.outcome)
    clock.now += 3601
    _, later = await service.handle(classify_request(finding(fingerprint="fp1:later")))
    await service.aclose()
    assert outcomes == ["ok", "ok", "over_budget"]
    assert later.outcome == "ok" and len(fake_server.requests) == 3


async def test_over_the_token_budget_answers_locally(fake_server, openai_cfg):
    cfg = openai_cfg.model_copy(update={"max_tokens_per_hour": 100})
    service = AIService(cfg, clock=FakeClock())
    result, audit = await service.handle(classify_request())
    await service.aclose()
    assert audit.outcome == "over_budget" and audit.fallback_reason == "over_budget:tokens_per_hour:100"
    assert fake_server.requests == [] and result.fallback
    ClassifyOutput.model_validate(result.output)


async def test_a_slow_model_times_out_and_the_flow_keeps_moving(fake_server, openai_cfg):
    fake_server.delay_s = 2.0
    fake_server.replies.append(openai_reply(ANSWER))
    cfg = openai_cfg.model_copy(update={"timeout_s": 0.2})
    service = AIService(cfg)
    started = asyncio.get_running_loop().time()
    result, audit = await service.handle(classify_request(finding(level="fatal")))
    elapsed = asyncio.get_running_loop().time() - started
    await service.aclose()
    assert elapsed < 1.5
    assert (audit.outcome, audit.fallback_reason, result.fallback) == ("timeout", "timeout", True)
    assert result.output["severity"] == "P1"  # the local answer, not a placeholder
    assert 150 <= audit.latency_ms < 1500


async def test_an_unreadable_payload_still_gets_a_valid_answer():
    service = AIService(AIConfig(runbooks_index=RUNBOOKS_INDEX))
    request = AIRequest(request_id="r1", task="summary", service="api", payload={"findings": "oops"})
    result, audit = await service.handle(request)
    assert audit.outcome == "error" and audit.fallback
    assert audit.fallback_reason.startswith("invalid_request:") and "findings" in audit.fallback_reason
    NarrativeOutput.model_validate(result.output)


async def test_local_is_the_default_and_needs_no_key_or_network():
    service = AIService(AIConfig(runbooks_index=RUNBOOKS_INDEX), clock=FakeClock())
    result, audit = await service.handle(classify_request(finding(level="critical")))
    await service.aclose()
    assert (result.provider, result.fallback, audit.outcome, audit.model) == ("local", False, "ok", "rules-v1")
    assert result.output["severity"] == "P1" and result.request_id == "req-fp1:abc123"
