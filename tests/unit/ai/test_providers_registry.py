"""The provider registry, the stage's boundaries and the runbook index read with the configuration."""

from __future__ import annotations

import ast
from typing import get_args

from agents.ai.config import AIConfig
from agents.ai.providers import PROVIDERS, AnthropicProvider, OpenAICompatibleProvider, make_provider
from agents.ai.service import AIService
from agents.local_ai import fallback_output
from schemas.ai_tasks import NarrativeInput, ReviewInput
from schemas.records import AIRequest
from tests.unit.ai.conftest import ROOT, RUNBOOKS_INDEX, FakeClock, classify_request, finding

PACKAGE = ROOT / "agents" / "ai"


def test_every_provider_setting_is_registered_and_builds_its_provider():
    assert set(PROVIDERS) == set(get_args(AIConfig.model_fields["provider"].annotation))
    assert make_provider(AIConfig()) is None  # local: no model at all
    assert isinstance(make_provider(AIConfig(provider="openai")), OpenAICompatibleProvider)
    assert isinstance(make_provider(AIConfig(provider="anthropic", api_key="k")), AnthropicProvider)


def _imports(path) -> set[str]:  # noqa: ANN001
    tree = ast.parse(path.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return imported | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_the_stage_never_imports_the_incidents_stage_and_the_shared_rules_import_neither():
    for path in sorted(PACKAGE.rglob("*.py")):
        assert not {m for m in _imports(path) if m.split(".")[:2] == ["agents", "incidents"]}, path.name
    for path in sorted((ROOT / "agents" / "local_ai").rglob("*.py")):
        stages = {m for m in _imports(path) if m.split(".")[:2] in (["agents", "ai"], ["agents", "incidents"])}
        assert not stages and not {m for m in _imports(path) if m.split(".")[0] == "streams"}, path.name


def test_the_runbook_index_is_read_with_the_configuration(tmp_path):
    assert AIConfig(runbooks_index=RUNBOOKS_INDEX).runbooks == {
        "flush-cache", "restart-service", "rollback-deploy", "scale-up"}
    assert AIConfig(runbooks_index=tmp_path / "absent.toml").runbooks == frozenset()


async def test_the_local_provider_answers_exactly_as_the_reducers_built_in_decision():
    # One answerer: what the ai stage says locally is what the reducer decides on a timeout.
    service = AIService(AIConfig(runbooks_index=RUNBOOKS_INDEX), clock=FakeClock())
    narrative = NarrativeInput(service="api", incident_id="inc-1", severity="P2", opened_at=1_700_000_000.0,
                               now=1_700_000_300.0, findings=[finding()], windows_with_errors=5)
    review = ReviewInput(service="api", incident_id="inc-1", report="pods hit OutOfMemoryError",
                         runbooks=["restart-service"])
    requests = [classify_request(),
                AIRequest(request_id="s", task="summary", service="api", payload=narrative.model_dump(mode="json")),
                AIRequest(request_id="r", task="review", service="api", payload=review.model_dump(mode="json"))]
    for request in requests:
        result, _ = await service.handle(request)
        assert result.output == fallback_output(request.task, request.payload), request.task
