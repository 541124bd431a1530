"""What every model provider is: the `Provider` protocol, its reply and the errors it raises.

A provider turns one `Prompt` into one `ProviderReply` (parsed JSON, token usage) or
raises a `ProviderError` with a short machine-readable reason. Providers never retry
(the service decides), never validate against the task schema (the service does), and
never put a secret in an error message. This module imports no HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from agents.ai.prompting import Prompt

__all__ = ["Provider", "ProviderError", "ProviderReply", "ProviderTimeout"]


@dataclass(frozen=True)
class ProviderReply:
    data: Any  # the parsed JSON answer (dict when well-formed); None if unparseable
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    stop_reason: str = ""


class ProviderError(Exception):
    """The provider did not answer. `reason` is short and safe to publish in audits."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ProviderTimeout(ProviderError):
    pass


class Provider(Protocol):
    name: str
    model: str

    async def complete(self, prompt: Prompt, *, max_tokens: int) -> ProviderReply: ...

    async def aclose(self) -> None: ...
