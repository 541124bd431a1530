"""The provider registry: configuration name -> provider class. One active at a time.

"local" maps to None: the service answers with its local rules and no model at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable


from agents.ai.anthropic_provider import AnthropicProvider
from agents.ai.config import AIConfig
from agents.ai.openai_provider import OpenAICompatibleProvider
from agents.ai.provider import Provider

if TYPE_CHECKING:  # httpx is only imported by the provider modules
    import httpx

__all__ = ["PROVIDERS", "make_provider"]

PROVIDERS: dict[str, Callable[..., Provider] | None] = {
    "anthropic": lambda cfg, http_client: AnthropicProvider(cfg),
    "local": None,
    "openai": lambda cfg, http_client: OpenAICompatibleProvider(cfg, http_client=http_client),
}


def make_provider(cfg: AIConfig, *, http_client: httpx.AsyncClient | None = None) -> Provider | None:
    factory: Any = PROVIDERS[cfg.provider]
    return None if factory is None else factory(cfg, http_client)
