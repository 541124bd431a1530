"""Configuration of the stage, and the pure-core rule for its modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from agents.incidents.config import IncidentsConfig
from streams.config import ConfigError, load_config

PACKAGE = Path(__file__).resolve().parents[3] / "agents" / "incidents"
FORBIDDEN = {"faust", "aiokafka", "httpx", "requests", "time"}


def test_defaults_follow_the_design():
    cfg = IncidentsConfig()
    assert (cfg.resolve_after, cfg.update_interval_s, cfg.digest_interval_s) == (5, 300.0, 3600.0)
    assert cfg.registry_ttl_s == 3 * 86400 and cfg.registry_cleanup_interval_s == 86400
    assert cfg.registry_match_candidates == 10


def test_environment_overrides_and_bad_values_name_the_key():
    cfg = load_config(environ={"LOGWARDEN_INCIDENTS__RESOLVE_AFTER": "3"})
    assert cfg.incidents.resolve_after == 3
    with pytest.raises(ConfigError, match="incidents.resolve_after"):
        load_config(environ={"LOGWARDEN_INCIDENTS__RESOLVE_AFTER": "0"})
    with pytest.raises(ConfigError, match="incidents.registry_match_candidates"):
        load_config(environ={"LOGWARDEN_INCIDENTS__REGISTRY_MATCH_CANDIDATES": "11"})


def test_pure_modules_import_no_broker_http_or_clock():
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name in ("agent.py", "web.py"):  # the thin Faust shell and its read endpoints
            continue
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & FORBIDDEN, path.name
        assert ".now(" not in path.read_text(), path.name


def test_the_stage_never_imports_the_ai_stage():
    # Shared rules live in agents.local_ai; the two stages meet only on topics.
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {m for m in imported if m == "agents.ai" or m.startswith("agents.ai.")}, path.name


def test_the_runbook_allowlist_is_resolved_once_when_the_configuration_loads(tmp_path):
    # Empty: every runbook of the index; named: only those the index holds.
    assert load_config(environ={}).incidents.runbooks == [
        "flush-cache", "restart-service", "rollback-deploy", "scale-up"]
    chosen = load_config(environ={"LOGWARDEN_INCIDENTS__RUNBOOKS": '["scale-up", "rm-rf-everything"]'})
    assert chosen.incidents.runbooks == ["scale-up"]
    # An index that cannot be read allows nothing, whatever is configured.
    missing = {"LOGWARDEN_AI__RUNBOOKS_INDEX": str(tmp_path / "absent.toml"),
               "LOGWARDEN_INCIDENTS__RUNBOOKS": '["scale-up"]'}
    assert load_config(environ=missing).incidents.runbooks == []
    assert load_config(environ={"LOGWARDEN_AI__RUNBOOKS_INDEX": str(tmp_path / "absent.toml")}).incidents.runbooks == []


def test_the_runbook_specs_and_approval_policy_reach_the_reducer_when_the_configuration_loads(tmp_path):
    cfg = load_config(environ={"LOGWARDEN_INCIDENTS__RUNBOOKS": '["scale-up"]',
                               "LOGWARDEN_APPROVALS__APPROVERS": '["cli:alice"]',
                               "LOGWARDEN_APPROVALS__SECOND_APPROVER_FOR_P1": "true",
                               "LOGWARDEN_APPROVALS__PROPOSAL_TTL_S": "900"})
    incidents = cfg.incidents
    assert list(incidents.runbook_specs) == ["scale-up"]  # only what `runbooks` allows
    assert incidents.runbook_specs["scale-up"].command[0] == "kubectl"
    assert (incidents.approvers, incidents.second_approver_for_p1, incidents.proposal_ttl_s) == (
        ("cli:alice",), True, 900.0)
    # A copy keeps them; the TOML section has no such keys.
    assert incidents.model_copy().runbook_specs == incidents.runbook_specs
    assert not {"runbook_specs", "approvers", "proposal_ttl_s"} & set(IncidentsConfig.model_fields)
    missing = load_config(environ={"LOGWARDEN_AI__RUNBOOKS_INDEX": str(tmp_path / "absent.toml")})
    assert missing.incidents.runbook_specs == {}
    assert IncidentsConfig().runbook_specs == {} and IncidentsConfig().proposal_ttl_s == 3600.0


def test_the_built_in_rules_name_incident_kinds_the_catalog_proposes_for():
    from agents.local_ai.classify import incident_kind
    from schemas.records import Finding

    def kind(**fields):
        return incident_kind(Finding(fingerprint="fp1:x", service="api", **fields))

    assert kind(error_type="OutOfMemoryError") == "oom"
    assert kind(template="Back-off restarting failed container api") == "crash_loop"
    assert kind(error_type="HTTP 503") == "saturation"
    assert kind(template="too many connections") == "saturation"
    assert kind(template="errors since the deploy of v2.3") == "deploy_regression"
    assert kind(error_type="KeyError") == ""
