"""The runbook allowlist: which runbooks a review may name, read from the runbook index.

The index is a small TOML file (`[runbooks.<name>] file = ..., summary = ...`). Reading
it is the only I/O here and happens once, at start. An unreadable index means an empty
allowlist (no runbook can be proposed), never an exception in the pipeline.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

__all__ = ["load_allowlist"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def load_allowlist(index: Path) -> frozenset[str]:
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
