"""The wire contract: every topic declared once, records versioned and traceable,
public JSON Schemas up to date, pure modules free of Faust and HTTP clients."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from schemas import records
from schemas.jsonschema import OUT, render
from schemas.topics import TOPICS
from tests.conftest import ROOT


def test_every_record_type_has_version_and_trace_id():
    for spec in TOPICS:
        if spec.record is None:
            continue
        fields = spec.record.model_fields
        assert "schema_version" in fields and "trace_id" in fields, spec.name


def test_topic_names_are_unique_and_design_topics_declared():
    names = [s.name for s in TOPICS]
    assert len(names) == len(set(names))
    for name in ("logs.raw", "alerts.raw", "checks.results", "signals.windows", "incidents.events",
                 "ai.requests", "ai.results", "ai.audit", "notify.outbox", "notify.receipts",
                 "approvals", "dead.letter"):
        assert name in names


def test_published_json_schemas_are_current():
    """Fails when a record changed and `make schemas` was not run."""
    fresh = render()
    on_disk = {p.name: p.read_text() for p in OUT.glob("*.json")}
    assert on_disk == fresh


def test_records_tolerate_added_fields():
    raw = json.dumps({"event_id": "e1", "type": "opened", "at": 1.0, "brand_new_field": {"x": 1}})
    ev = records.IncidentEvent.model_validate_json(raw)
    assert ev.type == "opened" and ev.schema_version == 1


PURE_PACKAGES = ["schemas.records", "schemas.topics", "schemas.ai_tasks", "agents.redact"]


def _pure_modules() -> list[str]:
    """Every module of agents/ except the thin Faust shells and the HTTP provider/channel code."""
    mods = []
    for path in sorted((ROOT / "agents").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts)
        if path.name in ("agent.py", "web.py") or "channels" in rel.parts or "providers" in rel.parts:
            continue
        if path.name.startswith(("provider_", "anthropic", "openai")) or path.name == "__init__.py":
            continue
        if path.name in ("service.py", "loghandler.py", "notifier.py", "probes_http.py"):
            continue  # orchestrate providers/channels, or HTTP probes: they may hold an HTTP client
        mods.append(name)
    return mods + PURE_PACKAGES


@pytest.mark.parametrize("module", _pure_modules())
def test_pure_modules_import_neither_faust_nor_http(module):
    code = (f"import sys, importlib; importlib.import_module({module!r}); "
            "bad = [m for m in ('faust', 'aiokafka', 'httpx', 'anthropic', 'mode') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-1500:]
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"
