"""The one exception type the CLI turns into a one-line message and exit code 1."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """A failure explained in one line."""
