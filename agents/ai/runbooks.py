"""The runbook allowlist: which runbooks a review may name, read from the runbook index.

The index is a small TOML file (`[runbooks.<name>] file = ..., summary = ...`). Reading
it is the only I/O here and happens once, when `AIConfig` is validated. An unreadable index means an empty
allowlist (no runbook can be proposed), never an exception in the pipeline.
"""

from __future__ import annotations

from pathlib import Path

from agents.runbooks.catalog import load_catalog, resolve_index

__all__ = ["load_allowlist", "resolve_index"]


def load_allowlist(index: Path) -> frozenset[str]:
    """The names of the valid runbooks of the index (`agents.runbooks.catalog`)."""
    return load_catalog(index).names()
