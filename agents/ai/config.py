"""Configuration of the ai stage (section `[ai]` of the TOML file, `LOGWARDEN_AI__*` variables).

The runbook index is read here, once, when the configuration is validated: `runbooks`
is what the whole pipeline may propose (`streams.config` narrows `incidents.runbooks`
to it), so no stage reads the index itself. Must never print or log `api_key`: it is
a `SecretStr` and is only unwrapped inside a provider, at the moment a request is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from agents.ai.runbooks import load_allowlist

__all__ = ["AIConfig"]


class AIConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "local" needs no key and no network; it is also every other provider's fallback.
    provider: Literal["local", "anthropic", "openai"] = "local"
    # Empty: the provider's own default (DEFAULT_*_MODEL in agents/ai/providers/anthropic.py, openai.py).
    model: str = ""
    # Empty: the vendor's public endpoint. For Ollama/vLLM: e.g. http://host:11434/v1.
    base_url: str = ""
    api_key: SecretStr = SecretStr("")
    # "json_schema" (OpenAI, vLLM, recent Ollama) or "json_object" (older servers, Mistral).
    openai_response_format: Literal["json_schema", "json_object"] = "json_schema"
    timeout_s: float = Field(20.0, gt=0, le=300)
    # The anthropic SDK retries 408/409/429/5xx on its own; ours is only "one retry on
    # invalid output". Kept at 0 so the two never multiply the calls of one request.
    sdk_max_retries: int = Field(0, ge=0, le=3)
    max_output_tokens: int = Field(1024, ge=64, le=16384)
    max_calls_per_hour: int = Field(120, ge=0)
    max_tokens_per_hour: int = Field(200_000, ge=0)
    cache_ttl_s: float = Field(6 * 3600.0, ge=0)
    cache_max_entries: int = Field(5000, ge=1)
    redact_ips: bool = False
    # Allowlist of runbooks a review may name; relative paths resolve from the working dir.
    runbooks_index: Path = Path("ops/runbooks/index.toml")

    _runbooks: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="after")
    def _read_runbook_index(self) -> "AIConfig":
        self._runbooks = load_allowlist(self.runbooks_index)
        return self

    @property
    def runbooks(self) -> frozenset[str]:
        """The runbooks of the index (read at validation; empty if it is unreadable)."""
        return self._runbooks
