"""A classification may name a runbook to propose: only an allowlisted one, with plain-token parameters."""

from __future__ import annotations

from agents.ai.service import AIService
from agents.ai.validation import check_output
from schemas.ai_tasks import ClassifyInput, ClassifyOutput
from tests.unit.ai.conftest import FakeClock, classify_request, finding
from tests.unit.ai.fakes import openai_reply

ALLOWLIST = frozenset({"restart-service", "scale-up"})
ANSWER = {"severity": "P2", "one_off": False, "category": "resource", "probable_cause": "saturated",
          "confidence": 0.8}


def _input(runbooks: list[str] | None = None) -> ClassifyInput:
    return ClassifyInput(service="api", finding=finding(), runbooks=runbooks or [])


def test_an_allowlisted_runbook_with_plain_params_is_kept():
    out, problems, notes = check_output("classify", _input(["scale-up"]),
                                        {**ANSWER, "runbook": "scale-up", "params": {"replicas": "6"}}, ALLOWLIST)
    assert problems == [] and notes == []
    assert (out["runbook"], out["params"]) == ("scale-up", {"replicas": "6"})


def test_a_runbook_outside_the_allowlist_or_the_offered_ones_is_dropped():
    for runbook, offered in (("rm-rf-everything", []), ("restart-service", ["scale-up"])):
        out, _, notes = check_output("classify", _input(offered), {**ANSWER, "runbook": runbook}, ALLOWLIST)
        assert "runbook" not in out and "params" not in out and notes == ["runbook_not_allowlisted"]
        assert out["severity"] == "P2"  # the classification itself stands


def test_injected_arguments_drop_the_whole_proposal():
    for params in ({"service": "api; rm -rf /"}, {"replicas": "4 --all-namespaces"}, {"../x": "1"}):
        out, _, notes = check_output("classify", _input(), {**ANSWER, "runbook": "scale-up", "params": params},
                                     ALLOWLIST)
        assert "runbook" not in out and "params" not in out and notes == ["runbook_params_not_plain"], params


def test_a_classification_without_runbook_dumps_as_before():
    out = ClassifyOutput.model_validate(ANSWER).model_dump(mode="json")
    assert "runbook" not in out and "params" not in out
    assert "runbooks" not in _input().model_dump(mode="json")


async def test_a_model_answer_naming_a_runbook_with_injected_args_reaches_nobody(fake_server, openai_cfg):
    fake_server.replies.append(openai_reply({**ANSWER, "runbook": "restart-service",
                                             "params": {"service": "api; rm -rf /"}}))
    service = AIService(openai_cfg, clock=FakeClock())
    result, audit = await service.handle(classify_request())
    await service.aclose()
    assert "runbook" not in result.output and "params" not in result.output
    assert "runbook_params_not_plain" in audit.fallback_reason
