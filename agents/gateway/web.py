"""The worker's web server made safe for hostile clients (aiohttp under Faust).

- `server_options`: aiohttp keeps bodies as sent (no automatic decompression: the
  gateway decodes each body once, with its limits) and closes a connection that has
  not sent a whole request head `header_timeout_s` after it opened or was last
  answered (slowloris).
- `harden`: at most `max_connections_per_client` open connections per client address
  (one more is answered 429 and closed), and a JSON answer, counted in the gateway
  metrics, for a request that is not valid HTTP or that broke a handler.
- the objects the worker made while starting are frozen out of garbage collection
  (`gc.freeze`) when the server starts, so a full collection no longer holds the event
  loop for a quarter of a second.
- `read_body`: the one place a request body is read: size before and after decoding,
  `body_timeout_s` for the whole body, inflation in steps with a turn of the event
  loop after each.

Faust builds the aiohttp runner itself and aiohttp offers no hook for the server class,
so `harden` replaces the runner with one that turns the server it builds into a
`GatewayServer`. Private names used: Faust's `Web._runner`, aiohttp's
`AppRunner._make_server`, `Server._loop` and `Server._kwargs`;
tests/unit/gateway/test_web.py and tests/e2e/test_hostile_input.py fail if they change.
Must never answer with anything but JSON, nor echo more than a short reason.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from agents.gateway.body import BodyDecoder, content_coding, lower_headers
from agents.gateway.config import GatewayConfig
from agents.gateway.connections import ClientConnections
from agents.gateway.metrics import record_refusal
from agents.gateway.outcomes import Rejection
from agents.gateway.steps import Stepped, Steps, paused_gc

__all__ = ["GatewayServer", "harden", "read_body", "server_options", "stepwise"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# An over-limit connection gets this long to send its request and read the 429.
OVER_LIMIT_GRACE_S = 2.0


def server_options(cfg: GatewayConfig) -> dict[str, Any]:
    """`web_application_options` for Faust: the arguments of aiohttp's Application."""
    return {
        # The gateway reads bodies with its own caps; this is only aiohttp's own ceiling.
        "client_max_size": cfg.max_body_bytes + 1024,
        "handler_args": {"auto_decompress": False, "keepalive_timeout": cfg.header_timeout_s},
    }


async def stepwise(work: Steps[T]) -> T:
    """Run pure work step by step, giving the event loop a turn after each step and
    keeping garbage collections out of the steps (`agents.gateway.steps.paused_gc`)."""
    stepped = Stepped(work)
    steps = iter(stepped)
    while True:
        with paused_gc():
            more = next(steps, False) is None
        if not more:
            return stepped.result  # type: ignore[return-value]
        await asyncio.sleep(0)


async def read_body(request: web.Request, cfg: GatewayConfig) -> tuple[bytes, int]:
    """The decoded body and its size as sent; `Rejection` for every refusal."""
    decoder = BodyDecoder(content_coding(lower_headers(request.headers)), cfg.max_body_bytes,
                          cfg.max_decompressed_bytes)
    declared = request.content_length
    if declared is not None and declared > cfg.max_body_bytes:
        raise Rejection(413, "too_large", f"body is {declared} bytes; the limit is {cfg.max_body_bytes}")
    try:
        async with asyncio.timeout(cfg.body_timeout_s):
            while chunk := await request.content.readany():
                await stepwise(decoder.feed(chunk))
    except TimeoutError:
        raise Rejection(408, "body_timeout",
                        f"the body did not arrive within {cfg.body_timeout_s:g} s") from None
    except web.RequestPayloadError as exc:
        raise Rejection(400, "bad_body", f"the body could not be read: {_first_line(str(exc))}") from None
    return decoder.finish(), decoder.received


def _first_line(message: str) -> str:
    # aiohttp quotes the offending bytes after the first line or after ": b'".
    return message.split("\n", 1)[0].split(": b'", 1)[0].rstrip(": ")[:200]


def _json_error(status: int, reason: str, message: str) -> web.Response:
    response = web.json_response({"error": reason, "message": message}, status=status)
    response.force_close()
    return response


class GatewayRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own errors in JSON."""

    over_limit = False  # set per connection by GatewayServer

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: the answer has begun, the connection is broken
            raise ConnectionError("response already started; cannot send an error")
        if status >= 500:
            self.log_exception("gateway: error handling a request", exc_info=exc)
            record_refusal("http", "internal_error", status)
            return _json_error(status, "internal_error", "the server could not process the request")
        log.debug("gateway: refused a request that is not valid HTTP: %s", _first_line(message or str(exc)))
        record_refusal("http", "bad_http", status)
        return _json_error(status, "bad_http", f"not a valid HTTP request: {_first_line(message or str(exc))}")


class GatewayServer(web.Server):
    """aiohttp's server with a per-client connection limit and `GatewayRequestHandler`."""

    clients: ClientConnections
    grace_s: float  # how long an over-limit connection may take to send its request
    _admitted: dict[RequestHandler, str]

    @classmethod
    def adopt(cls, server: web.Server, clients: ClientConnections, grace_s: float) -> "GatewayServer":
        """Turn the server aiohttp built for the application into a GatewayServer."""
        server.__class__ = cls
        assert isinstance(server, GatewayServer)
        server.clients, server.grace_s, server._admitted = clients, grace_s, {}
        return server

    def __call__(self) -> RequestHandler:
        return GatewayRequestHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) and peer else "local"
        if self.clients.open(client):
            self._admitted[handler] = client
        elif isinstance(handler, GatewayRequestHandler):
            record_refusal("connection", "too_many_connections", 429)
            handler.over_limit = True
            asyncio.get_running_loop().call_later(self.grace_s, _drop_if_silent, handler)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        client = self._admitted.pop(handler, None)
        if client is not None:
            self.clients.close(client)
        super().connection_lost(handler, exc)


def _drop_if_silent(handler: GatewayRequestHandler) -> None:
    if handler.over_limit:  # sent no request: there is no one to read a 429
        handler.force_close()


@web.middleware
async def _over_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    protocol = request.protocol
    if isinstance(protocol, GatewayRequestHandler) and protocol.over_limit:
        protocol.over_limit = False
        response = _json_error(429, "too_many_connections",
                               "this address has as many connections open as it may; reuse or close one")
        response.headers["Retry-After"] = "1"
        return response
    return await handler(request)


class GatewayRunner(web.AppRunner):
    """Faust's AppRunner, serving the application with a `GatewayServer`."""

    def __init__(self, app: web.Application, cfg: GatewayConfig, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._clients = ClientConnections(cfg.max_connections_per_client)
        self._grace_s = min(OVER_LIMIT_GRACE_S, cfg.header_timeout_s)

    async def _make_server(self) -> web.Server:
        return GatewayServer.adopt(await super()._make_server(), self._clients, self._grace_s)


async def _freeze_startup_heap(_app: web.Application) -> None:
    # The worker holds ~200k objects from start-up (modules, Faust, aiokafka). Every full
    # collection walked all of them: 250 ms of CPU each, several per large request, the
    # event loop held all the while. Frozen, they are left out of every collection.
    gc.collect()
    gc.freeze()


def harden(faust_web: Any, cfg: GatewayConfig) -> None:
    """Give the Faust web driver (before it starts) the connection limit, JSON errors, and
    garbage collections that leave the start-up heap alone."""
    faust_web.web_app.middlewares.append(_over_limit)
    faust_web.web_app.on_startup.append(_freeze_startup_heap)
    faust_web._runner = GatewayRunner(faust_web.web_app, cfg, access_log=None)
