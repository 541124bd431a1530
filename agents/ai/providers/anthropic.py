"""Claude through the official `anthropic` SDK (Messages API, structured output via a tool).

The task's output JSON schema becomes the `input_schema` of one tool and `tool_choice`
forces Claude to call it, so the answer is the tool_use block's `input`. The SDK's own
retries are set explicitly (`sdk_max_retries`, default 0) so they never multiply with
the service's single retry on invalid output. Must never log or return the API key;
SDK exceptions are translated to `ProviderError` with status codes only.
"""

from __future__ import annotations

import json
from typing import Any

from agents.ai.config import AIConfig
from agents.ai.prompting import Prompt
from agents.ai.providers.base import ProviderError, ProviderReply, ProviderTimeout

__all__ = ["AnthropicProvider", "DEFAULT_ANTHROPIC_MODEL"]

DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-6"


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("retry-after") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, cfg: AIConfig, *, http_client: Any | None = None) -> None:
        # anthropic>=1 builds on `httpx2`; a client passed in must be an httpx2.AsyncClient.
        # Imported here, not with the module: the SDK takes seconds of CPU to import, and
        # every worker imports this module whether or not it ever calls Claude.
        import anthropic

        self.model = cfg.model or DEFAULT_ANTHROPIC_MODEL
        self._timeout = cfg.timeout_s
        self._client = anthropic.AsyncAnthropic(
            api_key=cfg.api_key.get_secret_value() or None,
            base_url=cfg.base_url or None,
            timeout=cfg.timeout_s,
            max_retries=cfg.sdk_max_retries,
            http_client=http_client,
        )

    async def complete(self, prompt: Prompt, *, max_tokens: int) -> ProviderReply:
        import anthropic  # loaded by __init__ already

        try:
            message = await self._client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                system=prompt.system,
                messages=[{"role": "user", "content": prompt.user}],
                tools=[{
                    "name": prompt.tool_name,
                    "description": f"Record the answer of the {prompt.task} task.",
                    "input_schema": prompt.output_schema,
                }],
                tool_choice={"type": "tool", "name": prompt.tool_name},
                timeout=self._timeout,
            )
        except anthropic.APITimeoutError as exc:
            raise ProviderTimeout("timeout") from exc
        except anthropic.APIStatusError as exc:
            raise ProviderError(f"http_{exc.status_code}", retry_after=_retry_after(exc.response.headers)) from exc
        except anthropic.APIConnectionError as exc:
            raise ProviderError("connection_error") from exc
        except anthropic.AnthropicError as exc:
            raise ProviderError(f"sdk_error:{type(exc).__name__}") from exc

        data: Any = None
        for block in message.content:
            if block.type == "tool_use" and block.name == prompt.tool_name:
                data = block.input
                break
            if block.type == "text" and data is None:
                # A model that ignored the tool may still have written JSON.
                try:
                    data = json.loads(block.text)
                except ValueError:
                    data = None
        usage = message.usage
        return ProviderReply(
            data=data,
            model=message.model or self.model,
            tokens_in=int(getattr(usage, "input_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "output_tokens", 0) or 0),
            stop_reason=str(message.stop_reason or ""),
        )

    async def aclose(self) -> None:
        await self._client.close()
