"""The logging handler ships errors as NDJSON and never blocks or raises when Logwarden is down."""

from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agents.gateway.config import GatewayConfig
from agents.gateway.intake import parse_log_intake
from agents.gateway.loghandler import LogwardenHandler
from tests.unit.gateway.conftest import NOW


class _Intake(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"test.loghandler.{id(handler)}")
    logger.propagate = False
    logger.addHandler(handler)
    return logger


def test_errors_arrive_as_log_intake_records():
    _Intake.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Intake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler = LogwardenHandler(f"http://127.0.0.1:{server.server_port}/logs", "checkout",
                               token="tok-123", flush_interval_s=0.05)
    logger = _logger(handler)
    logger.info("not shipped: below ERROR")
    try:
        raise ValueError("card declined")
    except ValueError:
        logger.exception("payment failed for order %s", 42)
    logger.error("second error")
    handler.close()
    server.shutdown()
    headers, body = _Intake.received[0]
    assert headers["Authorization"] == "Bearer tok-123"
    outcome = parse_log_intake(headers, b"".join(b for _, b in _Intake.received), GatewayConfig(), now=NOW)
    assert outcome.status == 202 and [k for k, _ in outcome.records] == [b"checkout", b"checkout"]
    first = outcome.records[0][1]
    assert b"payment failed for order 42" in first and b"ValueError" in first and b"card declined" in first
    assert handler.sent == 2 and handler.dropped == 0


def test_logwarden_down_never_blocks_and_counts_drops():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = LogwardenHandler(f"http://127.0.0.1:{port}/logs", "api", queue_size=50,
                               flush_interval_s=0.01, timeout_s=0.2)
    logger = _logger(handler)
    started = time.perf_counter()
    for n in range(5000):
        logger.error("failure %d", n)
    elapsed = time.perf_counter() - started
    handler.close(timeout_s=1.0)
    assert elapsed < 2.0  # 5000 emits with the server down: no waiting on the network
    assert handler.sent == 0 and handler.dropped >= 5000 - 50


def test_unformattable_record_does_not_raise():
    handler = LogwardenHandler("http://127.0.0.1:9/logs", "api", queue_size=1)
    logger = _logger(handler)
    logger.error("%d", "not a number")  # bad format args: counted as dropped, not raised
    assert handler.dropped == 1
    handler.close(timeout_s=0.5)
