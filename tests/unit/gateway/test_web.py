"""The hardened aiohttp server on a loopback port: JSON for every refusal, bodies as sent,
timeouts for slow clients, a connection limit per client address. No broker needed."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from types import SimpleNamespace

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from agents.gateway.config import GatewayConfig
from agents.gateway.outcomes import Rejection
from agents.gateway.web import harden, read_body, server_options

CFG = GatewayConfig(header_timeout_s=0.5, body_timeout_s=0.5, max_connections_per_client=2)


async def _echo(request: web.Request) -> web.Response:
    if request.query.get("boom"):
        raise RuntimeError("a bug in a handler")
    try:
        data, sent = await read_body(request, CFG)
    except Rejection as rejection:
        return web.json_response(rejection.body(), status=rejection.status)
    return web.json_response({"decoded": len(data), "sent": sent, "head": data[:20].decode(errors="replace")})


@pytest.fixture
async def server():
    app = web.Application(**server_options(CFG))
    app.router.add_post("/echo", _echo)
    shell = SimpleNamespace(web_app=app, _runner=None)
    harden(shell, CFG)
    await shell._runner.setup()
    site = web.TCPSite(shell._runner, "127.0.0.1", 0)
    await site.start()
    yield shell._runner.addresses[0][1]
    await shell._runner.cleanup()


async def _exchange(port: int, raw: bytes) -> tuple[int, dict]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    try:
        return await _response(reader)
    finally:
        writer.close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict]:
    """One HTTP answer, read by its Content-Length (the server may go on reading a body)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert b"application/json" in head.lower(), head
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    return int(head.split(b" ", 2)[1]), json.loads(await asyncio.wait_for(reader.readexactly(length), 5))


def _post(body: bytes, *headers: str, length: int | None = None) -> bytes:
    lines = ["POST /echo HTTP/1.1", "Host: t", f"Content-Length: {len(body) if length is None else length}",
             "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def test_gzip_is_decoded_once_from_the_body_as_sent(server):
    status, body = await _exchange(server, _post(gzip.compress(b'{"msg":"x"}\n'), "Content-Encoding: gzip"))
    assert status == 200 and body["head"] == '{"msg":"x"}\n' and body["sent"] > body["decoded"]


@pytest.mark.parametrize("raw, status, reason", [
    (_post(b"abc", "Content-Encoding: br"), 415, "unsupported_encoding"),
    (_post(gzip.compress(b"x") + b"junk", "Content-Encoding: gzip"), 400, "bad_gzip"),
    (_post(b"not gzip", "Content-Encoding: gzip"), 400, "bad_gzip"),
    (_post(b"x" * 10, length=2 * 1024 * 1024), 413, "too_large"),
    (_post(b"abcdefgh", length=3), 400, "bad_http"),  # a short Content-Length
    (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, "bad_http"),
    (b"POST /echo HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 9000 + b"\r\nContent-Length: 0\r\n\r\n", 400, "bad_http"),
    (b"POST /echo?boom=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 500, "internal_error"),
])
async def test_every_refusal_is_json(server, raw, status, reason):
    before = _rejected("http", reason)
    assert await _exchange(server, raw) == (status, {"error": reason, "message": _Any()})
    if reason in ("bad_http", "internal_error"):  # the server's own refusals; the rest the shell counts
        assert _rejected("http", reason) - before == 1


class _Any:
    """Equal to any short message that does not echo the request."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and 0 < len(other) <= 200 and "aaaa" not in other


async def test_a_body_sent_too_slowly_is_408(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(_post(b"", length=100))
    started = time.monotonic()

    async def trickle() -> None:  # one byte every 0.1 s: the slowloris of the issue, faster
        for _ in range(100):
            writer.write(b"x")
            await asyncio.sleep(0.1)

    sender = asyncio.create_task(trickle())
    try:
        assert await _response(reader) == (408, {"error": "body_timeout", "message": _Any()})
    finally:
        sender.cancel()
        writer.close()
    assert time.monotonic() - started < 2.0


async def test_a_request_head_sent_too_slowly_is_cut_off(server):
    # A byte every 50 ms, never the end of the head: the server must hang up on its own,
    # while bytes still come, and not before its 0.5 s. (No upper bound in seconds: a
    # loaded machine may be slow to notice; the head is long enough that only a cut
    # ends the loop before it is all sent, about 10 s.)
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    started = time.monotonic()
    head = b"POST /echo HTTP/1.1\r\nHost: slow\r\n" + b"X-Pad: " + b"x" * 160
    sent = 0
    for byte in head:
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            break
        sent += 1
        await asyncio.sleep(0.05)
        if reader.at_eof():
            break
    assert sent < len(head), "the server let a head trickle in for 10 s"
    assert await asyncio.wait_for(reader.read(), 5) == b""
    assert time.monotonic() - started > CFG.header_timeout_s * 0.9
    writer.close()


def _rejected(endpoint: str, reason: str) -> float:
    return REGISTRY.get_sample_value("logwarden_gateway_rejected_total", {"endpoint": endpoint, "reason": reason}) or 0


async def test_a_client_address_may_hold_only_so_many_connections(server):
    before = _rejected("connection", "too_many_connections")
    keep = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok".encode()
    held = []
    for _ in range(CFG.max_connections_per_client):
        reader, writer = await asyncio.open_connection("127.0.0.1", server)
        writer.write(keep)
        assert b"200 OK" in await reader.readuntil(b"\r\n")  # served: the connection is counted
        held.append(writer)
    assert await _exchange(server, _post(b"ok")) == (
        429, {"error": "too_many_connections", "message": _Any()})
    silent_reader, silent = await asyncio.open_connection("127.0.0.1", server)  # sends nothing at all
    assert await asyncio.wait_for(silent_reader.read(), 5) == b""
    assert _rejected("connection", "too_many_connections") - before == 2
    held.pop().close()
    await asyncio.sleep(0)  # let the server see the close
    for _ in range(50):
        status, _body = await _exchange(server, _post(b"ok"))
        if status == 200:
            break
        await asyncio.sleep(0.02)
    assert status == 200
    for writer in held:
        writer.close()
