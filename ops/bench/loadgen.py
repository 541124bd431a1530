"""Realistic mixed log lines for benchmarks: JSON (structlog, pino), nginx access and
Python text logs from 20 services, a given share of error lines, part of them
multi-line Python tracebacks (one record per line, as shippers send them)."""

from __future__ import annotations

import json
import random
from typing import Iterator

__all__ = ["mixed_lines"]

_PATHS = ["/api/users/{}", "/api/orders/{}/items", "/v1/payments/{}", "/api/search", "/healthz", "/api/cart/{}"]
_ERRORS = [
    ("psycopg2.OperationalError", "could not connect to server: Connection refused"),
    ("redis.exceptions.TimeoutError", "Timeout reading from socket"),
    ("KeyError", "'customer_id'"),
    ("ValueError", "invalid literal for int() with base 10: 'abc'"),
]


def mixed_lines(n: int, error_share: float = 0.02, trace_share: float = 0.3, services: int = 20,
                seed: int = 1, t0: float = 1_790_000_000.0) -> Iterator[tuple[bytes, bytes]]:
    """Yield (key, line) pairs; about `n` lines in total."""
    rnd = random.Random(seed)
    names = [f"svc-{i:02d}" for i in range(services)]
    produced = 0
    while produced < n:
        svc = names[rnd.randrange(services)]
        ts = t0 + produced * 0.001
        key = svc.encode()
        is_error = rnd.random() < error_share
        kind = rnd.randrange(3)
        path = rnd.choice(_PATHS).format(rnd.randint(1, 99999))
        if is_error and rnd.random() < trace_share:
            exc, msg = rnd.choice(_ERRORS)
            when = f"2026-11-24 10:{(produced // 60000) % 60:02d}:{(produced // 1000) % 60:02d},{produced % 1000:03d}"
            for line in (
                f"{when} ERROR [{svc}.api] POST {path} failed",
                "Traceback (most recent call last):",
                '  File "/srv/app/views.py", line 88, in handle',
                "    result = service.run(request)",
                '  File "/srv/app/db.py", line 41, in connect',
                "    return driver.connect(dsn)",
                f"{exc}: {msg}",
            ):
                yield key, line.encode()
                produced += 1
            continue
        if kind == 0:
            rec = {"timestamp": ts, "level": "error" if is_error else rnd.choice(("info", "info", "debug", "warning")),
                   "service": svc, "event": "request failed" if is_error else "request handled",
                   "path": path, "status": 500 if is_error else 200, "duration_ms": rnd.randint(1, 400),
                   "request_id": f"{rnd.getrandbits(64):016x}"}
            line = json.dumps(rec)
        elif kind == 1:
            status = rnd.choice((500, 502, 503)) if is_error else rnd.choice((200, 200, 201, 204, 304, 404))
            line = (f'10.1.{rnd.randint(0, 255)}.{rnd.randint(1, 254)} - - [24/Nov/2026:10:00:{produced % 60:02d} +0000] '
                    f'"GET {path} HTTP/1.1" {status} {rnd.randint(100, 9000)} "-" "curl/8.5.0"')
        else:
            level = "ERROR" if is_error else rnd.choice(("INFO", "INFO", "DEBUG"))
            line = (f"2026-11-24 10:00:{produced % 60:02d},{produced % 1000:03d} {level} [{svc}.worker] "
                    f"{'job failed: timeout talking to upstream' if is_error else 'job done'} id={rnd.randint(1, 10**6)}")
        yield key, line.encode()
        produced += 1
