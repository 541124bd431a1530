"""OpenAI-compatible chat completions through a real httpx client against a local fake."""

from __future__ import annotations

import json

import httpx
from pydantic import SecretStr

from agents.ai.service import AIService
from schemas.ai_tasks import ClassifyOutput
from tests.unit.ai.conftest import FakeClock, classify_request, finding
from tests.unit.ai.fakes import openai_error, openai_reply

ANSWER = {"severity": "P1", "one_off": False, "category": "database",
          "probable_cause": "connection pool exhausted", "confidence": 0.7}


async def test_request_wire_format_and_answer(fake_server, openai_cfg):
    fake_server.replies.append(openai_reply(ANSWER))
    async with httpx.AsyncClient() as client:
        service = AIService(openai_cfg, clock=FakeClock(), http_client=client)
        result, audit = await service.handle(classify_request())
        await service.aclose()
        assert not client.is_closed  # a shared client belongs to the caller
    req = fake_server.requests[0]
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.headers["authorization"] == "Bearer " + openai_cfg.api_key.get_secret_value()
    assert req.body["model"] == "gpt-4o-mini"
    assert [m["role"] for m in req.body["messages"]] == ["system", "user"]
    assert req.body["response_format"]["type"] == "json_schema"
    assert req.body["response_format"]["json_schema"]["schema"] == ClassifyOutput.model_json_schema()
    assert result.output == ANSWER and result.model == "gpt-4o-mini-2024-07-18"
    assert (audit.outcome, audit.tokens_in, audit.tokens_out, audit.provider) == ("ok", 700, 80, "openai")


async def test_json_object_mode_puts_the_schema_in_the_system_prompt(fake_server, openai_cfg):
    cfg = openai_cfg.model_copy(update={"openai_response_format": "json_object", "api_key": SecretStr("")})
    fake_server.replies.append(openai_reply(ANSWER))
    service = AIService(cfg, clock=FakeClock())
    await service.handle(classify_request())
    await service.aclose()
    req = fake_server.requests[0]
    assert req.body["response_format"] == {"type": "json_object"}
    assert '"probable_cause"' in req.body["messages"][0]["content"]
    assert "authorization" not in req.headers  # Ollama/vLLM without a key


async def test_invalid_output_is_retried_once_with_a_correction(fake_server, openai_cfg):
    fake_server.replies += [openai_reply({"severity": "critical", "one_off": "maybe"}), openai_reply(ANSWER)]
    service = AIService(openai_cfg, clock=FakeClock())
    result, audit = await service.handle(classify_request())
    await service.aclose()
    assert len(fake_server.requests) == 2
    correction = fake_server.requests[1].body["messages"][1]["content"]
    assert "rejected" in correction and "severity" in correction
    assert result.output == ANSWER and audit.outcome == "ok" and audit.tokens_in == 1400


async def test_invalid_twice_falls_back_to_local(fake_server, openai_cfg):
    fake_server.replies += [openai_reply("not json at all"), openai_reply('{"severity": "P9"}')]
    service = AIService(openai_cfg, clock=FakeClock())
    result, audit = await service.handle(classify_request())
    await service.aclose()
    assert len(fake_server.requests) == 2
    assert (audit.outcome, audit.fallback, result.provider) == ("invalid_output", True, "local")
    ClassifyOutput.model_validate(result.output)


async def test_429_and_503_fall_back_with_retry_after_in_the_audit(fake_server, openai_cfg):
    fake_server.replies += [openai_error(429, "rate_limit_exceeded", retry_after="20"),
                            openai_error(503, "overloaded")]
    service = AIService(openai_cfg, clock=FakeClock())
    _, first = await service.handle(classify_request())
    _, second = await service.handle(classify_request(finding(fingerprint="fp1:other")))
    await service.aclose()
    assert (first.outcome, first.fallback_reason) == ("error", "http_429;retry_after=20s")
    assert (second.outcome, second.fallback_reason) == ("error", "http_503")
    assert openai_cfg.api_key.get_secret_value() not in json.dumps([first.model_dump(), second.model_dump()])
