"""What every webhook driver provides, and the two ways a driver declines a payload.

A driver is three plain functions over parsed JSON. Drivers must never do I/O, read a
clock or raise anything but `ShapeError` / `NoAlertState` (anything else is a bug that
`handle_webhook` turns into a 422, never a 5xx).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from agents.gateway.normalise import AlertDraft

__all__ = ["Driver", "NoAlertState", "ShapeError", "as_dict", "as_list", "as_text", "first_text"]


class ShapeError(ValueError):
    """The payload is not this driver's format (HTTP 422)."""


class NoAlertState(ValueError):
    """A valid event that opens or resolves nothing, e.g. a note added (HTTP 202, no alert)."""


@dataclass(frozen=True)
class Driver:
    name: str
    # True when the payload is unmistakably this source's; used for auto-detection.
    detect: Callable[[Any], bool]
    # Drafts, or ShapeError / NoAlertState.
    parse: Callable[[Any], list[AlertDraft]]
    # The time the source puts inside its signed body (for the replay window), if any.
    signed_at: Callable[[Any], float | None] | None = None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)


def first_text(*values: Any) -> str:
    """The first value that is non-empty text (numbers count as text)."""
    for value in values:
        text = as_text(value).strip()
        if text:
            return text
    return ""
