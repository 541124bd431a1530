"""Local HTTP fakes of the Anthropic Messages API and an OpenAI-style chat API.

Real aiohttp servers on 127.0.0.1 that speak the vendors' wire format (content blocks,
tool_use, usage, stop_reason, error bodies, retry-after), so the real `anthropic` SDK
and a real httpx client are what is tested. Every request is logged verbatim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

__all__ = ["FakeServer", "Recorded", "anthropic_error", "anthropic_tool_reply", "openai_error", "openai_reply"]

Reply = tuple[int, dict[str, str], dict[str, Any]]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    raw: str
    body: Any


@dataclass
class FakeServer:
    """Answers each request with the next scripted reply (a tuple or a function of the body)."""

    replies: list[Reply | Callable[[Any], Reply]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    delay_s: float = 0.0
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        import asyncio
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.requests.append(Recorded(request.method, request.path, {k.lower(): v for k, v in request.headers.items()},
                                      raw, body))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        script = self.replies.pop(0) if self.replies else (500, {}, {"error": "no scripted reply"})
        status, headers, payload = script(body) if callable(script) else script
        return web.json_response(payload, status=status, headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def log_text(self) -> str:
        """Everything the fake received: headers and bodies."""
        return "\n".join(f"{r.method} {r.path} {json.dumps(r.headers)} {r.raw}" for r in self.requests)


def anthropic_tool_reply(answer: dict[str, Any], *, tool: str | None = None, model: str = "claude-sonnet-4-6",
                         tokens: tuple[int, int] = (812, 96)) -> Callable[[Any], Reply]:
    """A Messages API 200 with a text block and a tool_use block, as Claude answers a forced tool."""

    def reply(body: Any) -> Reply:
        name = tool or body["tool_choice"]["name"]
        return 200, {"request-id": "req_fake"}, {
            "id": "msg_01FakeFake", "type": "message", "role": "assistant", "model": model,
            "content": [
                {"type": "text", "text": "Recording the answer."},
                {"type": "tool_use", "id": "toolu_01Fake", "name": name, "input": answer},
            ],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
        }

    return reply


def anthropic_error(status: int, kind: str, *, retry_after: str | None = None) -> Reply:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return status, headers, {"type": "error", "error": {"type": kind, "message": f"fake {kind}"}}


def openai_reply(answer: dict[str, Any] | str, *, model: str = "gpt-4o-mini-2024-07-18",
                 tokens: tuple[int, int] = (700, 80)) -> Reply:
    content = answer if isinstance(answer, str) else json.dumps(answer)
    return 200, {}, {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1718000000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1],
                  "total_tokens": tokens[0] + tokens[1]},
    }


def openai_error(status: int, code: str, *, retry_after: str | None = None) -> Reply:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return status, headers, {"error": {"message": f"fake {code}", "type": code, "param": None, "code": code}}
