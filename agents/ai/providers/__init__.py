"""The model providers, one module each, and the one registry that names them.

`PROVIDERS` maps every `ai.provider` setting to a factory of its provider, registered
here by hand, never discovered by scanning the folder. "local" maps to None: no model
is called and the service answers with `LocalProvider` (which is also every model
provider's fallback). Only the provider modules import an HTTP client or SDK.
"""

from __future__ import annotations

from typing import Callable

import httpx

from agents.ai.config import AIConfig
from agents.ai.providers.anthropic import AnthropicProvider
from agents.ai.providers.base import Provider, ProviderError, ProviderReply, ProviderTimeout
from agents.ai.providers.local import LocalProvider
from agents.ai.providers.openai import OpenAICompatibleProvider

__all__ = [
    "AnthropicProvider",
    "LocalProvider",
    "OpenAICompatibleProvider",
    "PROVIDERS",
    "Provider",
    "ProviderError",
    "ProviderFactory",
    "ProviderReply",
    "ProviderTimeout",
    "make_provider",
]

ProviderFactory = Callable[[AIConfig, httpx.AsyncClient | None], Provider]

PROVIDERS: dict[str, ProviderFactory | None] = {
    # anthropic>=1 builds on httpx2: it keeps its own client instead of the shared httpx one.
    "anthropic": lambda cfg, http_client: AnthropicProvider(cfg),
    "local": None,
    "openai": lambda cfg, http_client: OpenAICompatibleProvider(cfg, http_client=http_client),
}


def make_provider(cfg: AIConfig, *, http_client: httpx.AsyncClient | None = None) -> Provider | None:
    """The configured model provider; None for "local" (no model at all)."""
    factory = PROVIDERS[cfg.provider]
    return None if factory is None else factory(cfg, http_client)
