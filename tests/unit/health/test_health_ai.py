"""The health report's words from a model: asked through the AI path, answered, or built-in.

The parts come from the same synthetic hours as `test_health_report.py` (a spike of 14
errors a minute at 10:13 and 10:14 on checkout). With a model configured the assembler
asks the AI stage instead of writing at once; the report is written when the answer
comes back on `health.parts`, or with the built-in text when the answer is unusable or
has not come within the AI timeout in event time. The built-in text must be the report
a deployment without a model writes.
"""

from __future__ import annotations

import asyncio

from agents.ai.config import AIConfig
from agents.ai.service import AIService
from agents.baselines.config import HealthConfig
from agents.baselines.health import HealthClock, HealthPart, SeriesHealth, beat_due
from agents.baselines.report import HealthBook, HealthMessage, Narrator, apply_health_answer, apply_health_clock, \
    apply_health_part
from schemas.effects import Publish, WriteReport
from schemas.records import AIRequest, AIResult
from tests.unit.health.test_health_report import HOUR, MONDAY, Pipeline, _run

MODEL = Narrator(ask_model=True, timeout_s=30.0)
CFG = HealthConfig(period_s=HOUR)
TEN = MONDAY + 10 * HOUR
SENTENCE = "error rate 14/min at 10:14, usual recently is 0–2/min (2 of 60 readings unusual; latest 2/min)"


def _spike() -> Pipeline:
    pipe = Pipeline(CFG)
    _run(pipe, {"checkout": {3 * 60 + 13: 14, 3 * 60 + 14: 14}}, MONDAY + 7 * HOUR, 4 * 60 + 1)
    return pipe


def _asked(pipe: Pipeline) -> tuple[HealthBook, AIRequest]:
    """The spike's parts through an assembler that asks the model: the request, nothing written yet."""
    book, effects = None, []
    for part in pipe.parts:
        book, out = apply_health_part(book, part, CFG, "UTC", MODEL)
        effects += out
    (ask,) = effects
    assert isinstance(ask, Publish) and ask.topic == "ai.requests"
    return book, ask.record


def _written(effects: list) -> tuple[WriteReport, object]:
    (report,) = [e for e in effects if isinstance(e, WriteReport)]
    (message,) = [e.record for e in effects if isinstance(e, Publish) and e.topic == "notify.outbox"]
    return report, message


def _answer(request: AIRequest, output: dict, *, provider: str = "anthropic", model: str = "claude-test",
            fallback: bool = False) -> AIResult:
    return AIResult(request_id=request.request_id, task="health", service=request.service, at=request.at,
                    output=output, provider=provider, model=model, fallback=fallback)


def test_with_a_model_the_report_waits_for_its_answer_and_says_who_wrote_it():
    book, request = _asked(_spike())
    assert request.task == "health" and request.request_id == f"health:{TEN:.0f}"
    (service,) = request.payload["services"]
    assert service["service"] == "checkout" and service["status"] == "unusual"
    assert service["unusual"][0]["peak"] == 14 and service["unusual"][0]["usual_high"] == 2

    words = {"title": "Health report 10:00-11:00: checkout had an error spike",
             "text": "checkout: 14 errors/min at 10:13-10:14 against a usual 0-2/min; back to 2/min by 11:00."}
    book, effects = apply_health_answer(book, _answer(request, words), CFG, "UTC", MODEL)
    report, message = _written(effects)
    assert message.title == words["title"] and message.body == words["text"]
    assert message.fields["written_by"] == "claude-test"
    assert report.content.startswith(f"# {words['title']}\n")
    assert "Written by claude-test from the numbers only" in report.content and words["text"] in report.content
    # The numbers stay the built-in table, whoever wrote the words.
    assert "| error rate | 60 | 2 | 0/min → 2/min | usual recently is 0–2/min |" in report.content
    # A redelivered answer writes nothing twice.
    assert apply_health_answer(book, _answer(request, words), CFG, "UTC", MODEL)[1] == []


def test_an_answer_of_the_wrong_shape_gives_the_report_a_deployment_without_a_model_writes():
    pipe = _spike()
    _, today = _written(pipe.effects)  # no model: the built-in text at once
    book, request = _asked(pipe)
    _, effects = apply_health_answer(book, _answer(request, {"title": "x" * 500}), CFG, "UTC", MODEL)
    report, message = _written(effects)
    assert (message.title, message.body) == (today.title, today.body)
    assert message.body == f"checkout: {SENTENCE}; log volume normal"
    assert message.fields["written_by"] == "built-in text"
    assert "Built-in text from the numbers only (the model's answer could not be used)." in report.content


def test_the_ai_stages_own_fallback_is_reported_as_built_in_text():
    book, request = _asked(_spike())
    words = {"title": "Health report 2026-03-02 10:00 to 11:00 UTC: 1 of 1 service unusual (checkout)",
             "text": f"checkout: {SENTENCE}; log volume normal"}
    _, effects = apply_health_answer(book, _answer(request, words, provider="local", model="rules-v1",
                                                   fallback=True), CFG, "UTC", MODEL)
    _, message = _written(effects)
    assert message.fields["written_by"] == "built-in text"


def test_no_answer_within_the_ai_timeout_in_event_time_gives_the_built_in_text_and_a_late_one_changes_nothing():
    pipe = _spike()
    _, today = _written(pipe.effects)
    book, request = _asked(pipe)
    # Asked when the last part came: the period end, 11:00. 29 s later is not yet the timeout.
    book, effects = apply_health_clock(book, HealthClock(at=TEN + HOUR + 29, service="checkout"), CFG, "UTC", MODEL)
    assert effects == []
    book, effects = apply_health_clock(book, HealthClock(at=TEN + HOUR + 60, service="checkout"), CFG, "UTC", MODEL)
    report, message = _written(effects)
    assert (message.title, message.body) == (today.title, today.body)
    assert "Built-in text from the numbers only (no answer from the model within 30 s)." in report.content
    late = _answer(request, {"title": "late", "text": "late"})
    assert apply_health_answer(book, late, CFG, "UTC", MODEL)[1] == []


def test_the_services_beat_event_time_only_early_in_a_period():
    state = {"period_end": TEN + HOUR, "series": {}, "late": 0}
    assert beat_due(state, TEN + 60, CFG, 30.0) and beat_due(state, TEN + 210, CFG, 30.0)
    assert not beat_due(state, TEN + 300, CFG, 30.0)


def test_a_secret_in_a_series_label_is_redacted_in_the_request_and_no_log_line_is_sent():
    token = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    series = SeriesHealth(series="probe:x", label=f"probe https://api.example.com/health?api_key={token}",
                          unit="ms", readings=10, judged=10, unusual=3, first=40, last=45, last_at=TEN + 600,
                          median=40, low=35, high=48, when="recently", peak=900, peak_at=TEN + 300,
                          peak_kind="high", peak_score=50, peak_median=40, peak_low=35, peak_high=48,
                          peak_when="recently")
    part = HealthPart(service="payments", period_start=TEN, period_end=TEN + HOUR, series=[series])
    book, effects = apply_health_part(None, part, CFG, "UTC", MODEL)
    book, effects = apply_health_part(book, part.model_copy(update={"period_start": TEN + HOUR,
                                                                    "period_end": TEN + 2 * HOUR}),
                                      CFG, "UTC", MODEL)
    # The next period's part makes the first report due; being complete, the second too.
    ask, second = effects
    assert ask.record.request_id == f"health:{TEN:.0f}" and second.record.request_id == f"health:{TEN + HOUR:.0f}"
    assert token not in ask.record.model_dump_json() and token not in second.record.model_dump_json()
    assert "api_key=[REDACTED]" in ask.record.payload["services"][0]["unusual"][0]["label"]
    assert "api_key=[REDACTED]" in ask.record.payload["services"][0]["line"]
    # Numbers, names and the built-in wording of them: nothing that could hold a log line.
    assert set(ask.record.payload) == {"period", "period_start", "period_end", "services", "late_values"}
    assert set(ask.record.payload["services"][0]) == {"service", "status", "series_count", "unusual", "normal", "line"}


def test_the_local_provider_answers_a_health_request_with_the_built_in_text():
    pipe = _spike()
    _, today = _written(pipe.effects)
    _, request = _asked(pipe)
    result, audit = asyncio.run(AIService(AIConfig(provider="local")).handle(request))
    assert result.output == {"title": today.title, "text": today.body}
    assert audit.outcome == "ok"


def test_health_parts_carries_parts_answers_and_beats():
    part = HealthPart(service="a", period_start=0, period_end=60)
    answer = AIResult(request_id="health:0", task="health", service="health", output={"title": "t", "text": ""})
    beat = HealthClock(at=61, service="a")
    for record in (part, answer, beat):
        assert HealthMessage.model_validate_json(record.model_dump_json()).root == record
