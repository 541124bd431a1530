"""Any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, Mistral, Grok) via httpx.

POST {base_url}/chat/completions with a JSON-schema (or JSON-object) response format
and `Authorization: Bearer <key>` when a key is set. No retry loop here: a non-2xx
answer becomes a `ProviderError` carrying the status and Retry-After. Must never put
the key or a response body in an error or a log.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from agents.ai.config import AIConfig
from agents.ai.prompting import Prompt
from agents.ai.providers.base import ProviderError, ProviderReply, ProviderTimeout

__all__ = ["DEFAULT_OPENAI_BASE_URL", "DEFAULT_OPENAI_MODEL", "OpenAICompatibleProvider"]

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


class OpenAICompatibleProvider:
    name = "openai"

    def __init__(self, cfg: AIConfig, *, http_client: httpx.AsyncClient | None = None) -> None:
        self.model = cfg.model or DEFAULT_OPENAI_MODEL
        self._url = (cfg.base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/") + "/chat/completions"
        self._key = cfg.api_key
        self._format = cfg.openai_response_format
        self._timeout = cfg.timeout_s
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient()

    def _body(self, prompt: Prompt, max_tokens: int) -> dict[str, Any]:
        if self._format == "json_schema":
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": prompt.tool_name, "schema": prompt.output_schema},
            }
        else:
            response_format = {"type": "json_object"}
        system = prompt.system
        if self._format == "json_object":
            system += "\n\nThe JSON schema of your answer:\n" + json.dumps(prompt.output_schema, sort_keys=True)
        return {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt.user}],
            "max_tokens": max_tokens,
            "temperature": 0,
            "response_format": response_format,
        }

    async def complete(self, prompt: Prompt, *, max_tokens: int) -> ProviderReply:
        headers = {"content-type": "application/json"}
        key = self._key.get_secret_value()
        if key:
            headers["authorization"] = f"Bearer {key}"
        try:
            response = await self._client.post(self._url, json=self._body(prompt, max_tokens),
                                               headers=headers, timeout=self._timeout)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout("timeout") from exc
        except httpx.HTTPError as exc:
            raise ProviderError("connection_error") from exc
        if response.status_code >= 400:
            raise ProviderError(f"http_{response.status_code}", retry_after=_retry_after(response))
        try:
            body = response.json()
            choice = body["choices"][0]
            content = choice["message"].get("content") or ""
            usage = body.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProviderError("malformed_response") from exc
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        return ProviderReply(
            data=data,
            model=str(body.get("model") or self.model),
            tokens_in=int(usage.get("prompt_tokens", 0) or 0),
            tokens_out=int(usage.get("completion_tokens", 0) or 0),
            stop_reason=str(choice.get("finish_reason") or ""),
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
