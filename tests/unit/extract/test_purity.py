"""The extract core stays pure: no Faust, no Kafka client, no HTTP, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "agents" / "extract"
PURE_MODULES = sorted(p for p in PACKAGE.glob("*.py") if p.name != "agent.py" and not p.name.startswith("faust_"))


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: p.name)
def test_module_imports_no_framework_and_reads_no_clock(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in {("time", "time"), ("datetime", "now"), ("datetime", "utcnow"),
                                                       ("time", "monotonic")}, f"{path.name} reads the clock"
    assert not imported & {"faust", "aiokafka", "httpx", "requests", "time"}, path.name
    assert ast.get_docstring(tree), f"{path.name} has no module docstring"


def test_all_is_sorted_in_every_module():
    for path in PURE_MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                names = [elt.value for elt in node.value.elts]
                assert names == sorted(names), path.name
