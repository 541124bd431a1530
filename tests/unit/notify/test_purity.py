"""The pure modules of the notify stage import neither faust, aiokafka nor httpx, and
no module of the stage reads the wall clock inside its logic."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "agents" / "notify"
PURE = ["backoff.py", "config.py", "delivery.py", "ledger.py", "ratelimit.py", "render.py", "routing.py", "secrecy.py"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io(module):
    assert not _imports(PACKAGE / module) & {"faust", "aiokafka", "httpx", "smtplib"}


def test_no_module_imports_faust_or_reads_the_clock():
    for path in [*PACKAGE.glob("*.py"), *PACKAGE.glob("channels/*.py")]:
        if path.name == "agent.py":
            continue
        assert not _imports(path) & {"faust", "aiokafka"}, path.name
        source = path.read_text()
        assert "time.time()" not in source and "datetime.now(" not in source, path.name
