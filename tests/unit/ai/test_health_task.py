"""The health report's words through the AI stage: the baselines' request, a fake Claude, the report.

The request is the one the report assembler sends for a service whose probe label
carries a secret-looking token; the fake Messages API answers (or answers wrongly).
"""

from __future__ import annotations

from types import SimpleNamespace

from agents.ai.config import AIConfig
from agents.ai.service import AIService
from agents.baselines.config import HealthConfig
from agents.baselines.health import HealthPart, SeriesHealth
from agents.baselines.report import Narrator, apply_health_answer, apply_health_part
from schemas.ai_tasks import NarrativeOutput
from schemas.effects import Publish, WriteReport
from schemas.records import AIResult
from tests.unit.ai.conftest import FakeClock
from tests.unit.ai.fakes import anthropic_tool_reply

TEN = 1772445600.0  # 2026-03-02T10:00:00Z
HOUR = 3600.0
CFG = HealthConfig(period_s=HOUR)
MODEL = Narrator(ask_model=True, timeout_s=30.0)
TOKEN = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
WORDS = {"title": "Health report 10:00-11:00 UTC: payments' vendor API was slow",
         "text": "payments: the vendor API took up to 900 ms at 10:05 against a usual 35-48 ms; 45 ms at the end."}


def _asked():
    series = SeriesHealth(series="probe:vendor", label=f"probe https://api.vendor.example/ping?api_key={TOKEN}",
                          unit="ms", readings=10, judged=10, unusual=3, first=40, last=45, last_at=TEN + 600,
                          median=40, low=35, high=48, when="recently", peak=900, peak_at=TEN + 300,
                          peak_kind="high", peak_score=50, peak_median=40, peak_low=35, peak_high=48,
                          peak_when="recently")
    part = HealthPart(service="payments", period_start=TEN, period_end=TEN + HOUR, series=[series])
    book, _ = apply_health_part(None, part, CFG, "UTC", MODEL)
    later = part.model_copy(update={"period_start": TEN + HOUR, "period_end": TEN + 2 * HOUR, "series": []})
    book, effects = apply_health_part(book, later, CFG, "UTC", MODEL)
    return book, effects[0].record


async def test_the_models_words_make_the_report_and_no_secret_reaches_it(fake_server, anthropic_cfg):
    fake_server.replies.append(anthropic_tool_reply(WORDS))
    book, request = _asked()
    service = AIService(anthropic_cfg, clock=FakeClock())
    result, audit = await service.handle(request)
    await service.aclose()

    body = fake_server.requests[0].body
    assert body["tool_choice"] == {"type": "tool", "name": "answer_health"}
    assert body["tools"][0]["input_schema"] == NarrativeOutput.model_json_schema()
    assert TOKEN not in fake_server.log_text().replace(anthropic_cfg.api_key.get_secret_value(), "")
    assert "api_key=[REDACTED]" in fake_server.log_text()
    assert audit.prompt_version == "health.v1+system.v1" and audit.outcome == "ok"

    _, effects = apply_health_answer(book, result, CFG, "UTC", MODEL)
    (report,) = [e for e in effects if isinstance(e, WriteReport)]
    (message,) = [e.record for e in effects if isinstance(e, Publish) and e.topic == "notify.outbox"]
    assert (message.title, message.body) == (WORDS["title"], WORDS["text"])
    assert message.fields["written_by"] == "claude-sonnet-4-6"
    assert "Written by claude-sonnet-4-6 from the numbers only" in report.content
    assert TOKEN not in report.content and "api_key=[REDACTED]" in report.content


async def test_a_wrong_answer_twice_gives_the_built_in_text(fake_server, anthropic_cfg):
    fake_server.replies += [anthropic_tool_reply({"title": "no text"}), anthropic_tool_reply({"text": "no title"})]
    book, request = _asked()
    service = AIService(anthropic_cfg, clock=FakeClock())
    result, audit = await service.handle(request)
    await service.aclose()
    assert audit.outcome == "invalid_output" and result.fallback and result.provider == "local"
    _, effects = apply_health_answer(book, result, CFG, "UTC", MODEL)
    (message,) = [e.record for e in effects if isinstance(e, Publish) and e.topic == "notify.outbox"]
    assert message.fields["written_by"] == "built-in text"
    assert message.title == "Health report 2026-03-02 10:00 to 11:00 UTC: 1 of 1 service unusual (payments)"
    assert message.body.startswith("payments: probe https://api.vendor.example/ping?api_key=[REDACTED] 900 ms at 10:05")
    assert TOKEN not in message.body


async def test_the_ai_stage_sends_a_health_answer_back_to_the_report_assembler():
    from agents.ai.agent import register

    class Stage:
        def consume(self, inputs, handle, **kw):  # noqa: ANN001
            self.handle = handle

        def on_stop(self, close):  # noqa: ANN001
            pass

    stage = Stage()
    register(stage, SimpleNamespace(ai=AIConfig(provider="local"), checks=SimpleNamespace(probes=[])))
    _, request = _asked()
    effects = await stage.handle(request, None)
    assert [(e.topic, e.key) for e in effects] == [("health.parts", "health"), ("ai.audit", request.request_id)]
    assert isinstance(effects[0].record, AIResult) and effects[0].record.task == "health"
