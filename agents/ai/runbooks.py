"""The runbook allowlist: which runbooks a review may name, read from the runbook index.

The index is a small TOML file (`[runbooks.<name>] file = ..., summary = ...`). Reading
it is the only I/O here and happens once, when `AIConfig` is validated. An unreadable index means an empty
allowlist (no runbook can be proposed), never an exception in the pipeline.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

__all__ = ["load_allowlist", "resolve_index"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def resolve_index(index: Path) -> Path:
    """A relative index path is looked up in the working directory, then in the project."""
    index = Path(index)
    if index.is_absolute() or index.exists():
        return index
    candidate = _PROJECT_ROOT / index
    return candidate if candidate.exists() else index


def load_allowlist(index: Path) -> frozenset[str]:
    index = resolve_index(index)
    try:
        data = tomllib.loads(index.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return frozenset()
    entries = data.get("runbooks", {})
    if not isinstance(entries, dict):
        return frozenset()
    # A runbook is allowed only if its name is plain and its file exists beside the index.
    return frozenset(
        name for name, spec in entries.items()
        if _NAME.match(name) and isinstance(spec, dict)
        and (index.parent / str(spec.get("file", f"{name}.md"))).is_file()
    )
