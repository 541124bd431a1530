"""Claude through the real anthropic SDK against a local fake of the Messages API."""

from __future__ import annotations

from agents.ai.service import AIService
from schemas.ai_tasks import ClassifyOutput
from tests.unit.ai.conftest import FakeClock, classify_request, finding
from tests.unit.ai.fakes import anthropic_error, anthropic_tool_reply

ANSWER = {"severity": "P2", "one_off": False, "category": "dependency",
          "probable_cause": "users-db is unavailable", "confidence": 0.8}


async def test_request_is_a_forced_tool_call_with_the_output_schema(fake_server, anthropic_cfg):
    fake_server.replies.append(anthropic_tool_reply(ANSWER))
    service = AIService(anthropic_cfg, clock=FakeClock())
    result, audit = await service.handle(classify_request())
    await service.aclose()

    req = fake_server.requests[0]
    assert (req.method, req.path) == ("POST", "/v1/messages")
    key = anthropic_cfg.api_key.get_secret_value()
    # Older SDKs send x-api-key, the installed 2.x sends a bearer header: either carries the key.
    assert req.headers.get("x-api-key") == key or req.headers.get("authorization") == f"Bearer {key}"
    assert req.headers["anthropic-version"]  # the SDK pins the API version it speaks
    assert req.headers["x-stainless-retry-count"] == "0"
    assert float(req.headers["x-stainless-timeout"]) == anthropic_cfg.timeout_s
    assert req.body["model"] == "claude-sonnet-4-6"
    assert req.body["tool_choice"] == {"type": "tool", "name": "answer_classify"}
    assert [t["name"] for t in req.body["tools"]] == ["answer_classify"]
    assert req.body["tools"][0]["input_schema"] == ClassifyOutput.model_json_schema()
    assert "untrusted" in req.body["system"]
    assert result.output == ANSWER and result.provider == "anthropic" and not result.fallback
    assert (audit.outcome, audit.tokens_in, audit.tokens_out) == ("ok", 812, 96)
    assert audit.prompt_version == "classify.v1+system.v1" and audit.model == "claude-sonnet-4-6"


async def test_rate_limit_and_overload_fall_back_locally_with_the_reason(fake_server, anthropic_cfg):
    fake_server.replies += [anthropic_error(429, "rate_limit_error", retry_after="17"),
                            anthropic_error(529, "overloaded_error", retry_after="30"),
                            anthropic_error(500, "api_error")]
    service = AIService(anthropic_cfg, clock=FakeClock())
    reasons = []
    for fp in ("fp1:a", "fp1:b", "fp1:c"):
        result, audit = await service.handle(classify_request(finding(fingerprint=fp)))
        assert result.fallback and result.provider == "local"
        ClassifyOutput.model_validate(result.output)
        reasons.append((audit.outcome, audit.fallback_reason))
    await service.aclose()
    assert reasons == [("error", "http_429;retry_after=17s"), ("error", "http_529;retry_after=30s"),
                       ("error", "http_500")]
    # sdk_max_retries defaults to 0: one HTTP request per AI request, no hidden retries.
    assert len(fake_server.requests) == 3


async def test_sdk_retries_are_exactly_what_is_configured(fake_server, anthropic_cfg):
    cfg = anthropic_cfg.model_copy(update={"sdk_max_retries": 1})
    fake_server.replies += [anthropic_error(529, "overloaded_error", retry_after="0"), anthropic_tool_reply(ANSWER)]
    service = AIService(cfg, clock=FakeClock())
    result, audit = await service.handle(classify_request())
    await service.aclose()
    assert len(fake_server.requests) == 2
    assert audit.outcome == "ok" and result.output["severity"] == "P2"


async def test_answer_without_the_tool_is_retried_once_then_local(fake_server, anthropic_cfg):
    text_only = (200, {}, {"id": "msg_x", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                           "content": [{"type": "text", "text": "I think it is bad."}], "stop_reason": "end_turn",
                           "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}})
    fake_server.replies += [text_only, text_only]
    service = AIService(anthropic_cfg, clock=FakeClock())
    result, audit = await service.handle(classify_request())
    await service.aclose()
    assert len(fake_server.requests) == 2
    assert "rejected" in fake_server.requests[1].body["messages"][0]["content"]
    assert (audit.outcome, audit.fallback, audit.tokens_in) == ("invalid_output", True, 20)
    assert result.fallback and ClassifyOutput.model_validate(result.output).severity == "P2"
