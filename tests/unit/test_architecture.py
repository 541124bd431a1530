"""The layout rules every stage follows (DESIGN: schemas <- pure modules <- thin shells <- streams).

- No module under `agents/` imports `streams`: stages are handed a `StageRunner`.
- No stage imports another stage; shared pure code lives in modules or packages of
  `agents/` that are not stages (they have no `agent.py`).
- Pure modules import neither Faust, aiokafka, nor an HTTP client; the shells
  (`agent.py`, `web.py`) may import Faust, and the modules whose job is to call a vendor
  over HTTP (notification channels, AI providers) may import httpx.
- Each stage's shell stays short: a declaration of inputs, tables and handlers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "agents"
STAGES = sorted(p.parent.name for p in AGENTS.glob("*/agent.py"))
SHELLS = {"agent.py", "web.py"}
# Modules whose job is HTTP: vendor channels and AI providers, the two that own their
# shared client (the notifier, the AI service), the logging handler apps embed, and HTTP probes.
HTTP_PACKAGES = ("agents/notify/channels/", "agents/ai/providers/", "agents/notify/notifier.py", "agents/ai/service.py",
                 "agents/gateway/loghandler.py", "agents/checks/probes_http.py")
SHELL_MAX_LINES = 120


def _modules() -> list[Path]:
    return sorted(p for p in AGENTS.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
              and node.level == 0}
    return names


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_there_are_stages():
    assert {"ai", "extract", "gateway", "incidents", "notify"} <= set(STAGES)


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_no_stage_imports_streams(path):
    bad = sorted(n for n in _imports(path) if n == "streams" or n.startswith("streams."))
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_no_stage_imports_another_stage(path):
    parts = path.relative_to(AGENTS).parts
    own = parts[0] if len(parts) > 1 else None
    for name in _imports(path):
        segments = name.split(".")
        if segments[0] == "agents" and len(segments) > 1 and segments[1] in STAGES and segments[1] != own:
            pytest.fail(f"{_rel(path)} imports stage {segments[1]} ({name})")


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_pure_modules_import_no_broker_or_http_client(path):
    if path.name in SHELLS:
        return
    forbidden = {"faust", "aiokafka", "mode"}
    if not _rel(path).startswith(HTTP_PACKAGES):
        forbidden |= {"httpx", "requests", "aiohttp", "anthropic"}
    bad = sorted(n for n in _imports(path) if n.split(".")[0] in forbidden)
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_shells_stay_short(stage):
    lines = len((AGENTS / stage / "agent.py").read_text().splitlines())
    assert lines < SHELL_MAX_LINES, f"agents/{stage}/agent.py has {lines} lines"
