"""The periodic health report end to end: lines in, one Markdown report and one digest notification out.

One Tansu broker of the test's own, one real worker running extract, baselines and
notify (and, in the second case, the AI stage against a local fake of the Claude
Messages API). Event time comes from the produced lines only (no ticks): two 10-minute
health periods of two services, a third just begun to close the second. The first
period is history (nothing to judge yet); in the second, spiky-svc logs 14 errors a
minute in two minutes where it usually logs none.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import pytest

from tests.e2e.harness import WorkerProcess, base_env, ensure_topics, minute_lines, produce, wait_for
from tests.e2e.test_ai_e2e import API_KEY, ThreadedFake
from tests.unit.ai.fakes import anthropic_tool_reply

pytestmark = pytest.mark.broker

SPIKY, STEADY = "spiky-svc", "steady-svc"
PERIOD = 600


def _error(service: str, n: int) -> str:
    """An error line; `minute_lines` puts its event time where `{ts}` is."""
    return json.dumps({"ts": "{ts}", "level": "error", "service": service,
                       "msg": f"payment declined: upstream timeout after 3000 ms (order {4000 + n})"}
                      ).replace('"{ts}"', "{ts}")


def _hhmm(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M")


def _produce_two_periods(bootstrap: str, prefix: str) -> float:
    t0 = (time.time() // PERIOD) * PERIOD - 2 * 3600  # a replay of 23 minutes two hours ago, on a period start
    lines = []
    for m in range(23):
        lines += minute_lines(STEADY, t0, m, infos=20)
        errors = [_error(SPIKY, n) for n in range(14)] if m in (13, 14) else []
        lines += minute_lines(SPIKY, t0, m, infos=20, errors=errors)
    # One host ships both services (one key, one partition): each moves the other's watermark.
    produce(bootstrap, sorted((("web-1", line, ts) for _key, line, ts in lines), key=lambda r: r[2]), prefix)
    return t0


def test_a_period_with_one_unusual_service_gives_a_report_naming_it_and_a_digest_notification(tansu, tmp_path):
    bootstrap = tansu.bootstrap
    # Topics of its own: on the shared broker, lines of other tests stamped now, read
    # first, would make these of two hours ago late.
    prefix = f"health-{uuid.uuid4().hex[:8]}."
    ensure_topics(bootstrap, prefix=prefix)
    t0 = _produce_two_periods(bootstrap, prefix)
    env = base_env(tmp_path, bootstrap, "e2e-health", LOGWARDEN_STAGES='["web", "extract", "baselines", "notify"]',
                   LOGWARDEN_TOPIC_PREFIX=prefix,
                   LOGWARDEN_HEALTH__PERIOD_S=str(PERIOD))
    worker = WorkerProcess(env, tmp_path / "run").start()
    key = f"health:{t0 + PERIOD:.0f}"
    try:
        wait_for(bootstrap, prefix + "notify.receipts", lambda rs: any(r["key"] == key for r in rs), worker=worker)
    finally:
        worker.stop()

    start, end, spike_end = t0 + PERIOD, t0 + 2 * PERIOD, t0 + 14 * 60  # the window 13:00-14:00 ends at minute 14
    day = datetime.fromtimestamp(start, timezone.utc)
    title = (f"Health report {day:%Y-%m-%d %H:%M} to {_hhmm(end)} UTC: 1 of 2 services unusual ({SPIKY})")
    # 14 errors in a 60 s window is 14/min; the 10 windows before it had none; 2 of the period's 10 windows spiked.
    sentence = (f"error rate 14/min at {_hhmm(spike_end)}, usual recently is 0/min "
                "(2 of 10 readings unusual; latest 0/min)")

    reports = sorted((tmp_path / "lw" / "reports").glob("*-health-*.md"))
    assert [r.name for r in reports] == [f"{day:%Y-%m-%d}-health-{day:%H%M}.md"]  # the first period: nothing
    text = reports[0].read_text()
    assert text.startswith(f"# {title}\n")
    assert f"## {SPIKY}\n\n- {sentence}\n" in text
    assert f"- {STEADY}: all normal (2 series)" in text

    sent = [json.loads(line) for line in (tmp_path / "lw" / "notifications.jsonl").read_text().splitlines()]
    health = [n for n in sent if n["key"].startswith("health:")]
    assert [(n["kind"], n["title"]) for n in health] == [("digest", title)]
    assert f"{SPIKY}: {sentence}; log volume normal" in health[0]["text"]
    assert f"Normal: {STEADY}" in health[0]["text"]
    assert "Written by: built-in text" in health[0]["text"]


WORDS = {"title": "Health report: spiky-svc had an error spike, steady-svc was normal",
         "text": "spiky-svc: 14 errors a minute for two minutes where it usually logs none; back to 0 at the end.\n"
                 "steady-svc: normal."}


def test_with_a_model_configured_the_report_is_written_by_the_model_from_the_numbers_only(tansu, tmp_path):
    bootstrap = tansu.bootstrap
    # Topics of its own: on the shared broker, lines of other tests stamped now, read
    # first, would make these of two hours ago late.
    prefix = f"health-{uuid.uuid4().hex[:8]}."
    ensure_topics(bootstrap, prefix=prefix)
    t0 = _produce_two_periods(bootstrap, prefix)
    fake_ctx = ThreadedFake()
    fake_ctx.server.replies = [anthropic_tool_reply(WORDS)] * 5
    with fake_ctx as fake:
        # Event time runs ahead as fast as the lines are read: an AI timeout longer than the
        # rest of the replay, so the model's answer, not the built-in text, writes the report.
        env = base_env(tmp_path, bootstrap, "e2e-health-ai",
                       LOGWARDEN_STAGES='["web", "extract", "baselines", "ai", "notify"]', LOGWARDEN_TOPIC_PREFIX=prefix,
                       LOGWARDEN_HEALTH__PERIOD_S=str(PERIOD), LOGWARDEN_AI__PROVIDER="anthropic",
                       LOGWARDEN_AI__BASE_URL=fake.base_url, LOGWARDEN_AI__API_KEY=API_KEY,
                       LOGWARDEN_INCIDENTS__AI_TIMEOUT_S="3600")
        worker = WorkerProcess(env, tmp_path / "run").start()
        key = f"health:{t0 + PERIOD:.0f}"
        try:
            wait_for(bootstrap, prefix + "notify.receipts", lambda rs: any(r["key"] == key for r in rs), worker=worker)
        finally:
            worker.stop()
        asked = [r.body for r in fake.requests]

    assert len(asked) == 1 and asked[0]["tool_choice"]["name"] == "answer_health"
    prompt = asked[0]["messages"][0]["content"]
    prompt = prompt if isinstance(prompt, str) else json.dumps(prompt)
    # Numbers only: the period's error rate, never a log line.
    assert "14/min" in prompt and "payment declined" not in prompt and "order 40" not in prompt
    sent = [json.loads(line) for line in (tmp_path / "lw" / "notifications.jsonl").read_text().splitlines()]
    (health,) = [n for n in sent if n["key"] == key]
    assert (health["kind"], health["title"]) == ("digest", WORDS["title"])
    assert WORDS["text"] in health["text"] and "Written by: claude-sonnet-4-6" in health["text"]
    (report,) = sorted((tmp_path / "lw" / "reports").glob("*-health-*.md"))
    text = report.read_text()
    assert text.startswith(f"# {WORDS['title']}\n") and "Written by claude-sonnet-4-6 from the numbers only" in text
    assert f"## {SPIKY}" in text and "| error rate | 10 | 2 |" in text
