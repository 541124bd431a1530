"""A past day of `docker compose logs` from five services, with planted incidents: the
input of the replay benchmark (`ops.bench.replay`) and of the replay end-to-end test.

Line shapes are those of real logs kept in `tests/data` (see its PROVENANCE files):
- `web`: nginx combined access lines (`tests/data/extract/lnav/logfile_access_log.0`,
  `tests/data/extract/nginx_captured/...502_excerpt.log`, which is also where the
  `docker compose logs` prefix `web-1  | ` comes from);
- `checkout`: python-json-logger JSON (`tests/data/extract/python_json/`, asctime /
  levelname / name / message);
- `payments`: Python `logging` text lines and a psycopg2 traceback, one record per line
  (`tests/data/extract/stacktraces/python_exc.log` shape);
- `search`: pino JSON, numeric levels and epoch milliseconds
  (`tests/data/extract/lnav/logfile_pino.0`);
- `worker`: logfmt as the Kubernetes virtual-kubelet writes it
  (`tests/data/extract/lnav/logfile_logfmt.0`).

Normal traffic has no error and no warning (a first-seen warning is ticketed as a
one-off, which would be a planted event of its own). The plan (`PLAN`, `ONEOFF`) is the
truth a replay is checked against: each incident opens in the window of its first
minute and has errors in every minute up to its last; the one-off is one error line.
Deterministic for a seed. Never used at run time.
"""

from __future__ import annotations

import calendar
import json
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

__all__ = ["DAY", "ONEOFF", "PLAN", "Planted", "SERVICES", "day_lines", "write_day"]

DAY = calendar.timegm((2026, 11, 23, 0, 0, 0))  # a past day, 00:00 UTC
SERVICES = ("web-1", "checkout-1", "payments-1", "search-1", "worker-1")
_WIDTH = max(len(s) for s in SERVICES) + 2


@dataclass(frozen=True)
class Planted:
    service: str
    first_minute: int  # minute of the day (0-1439), inclusive
    last_minute: int
    what: str

    @property
    def window_start(self) -> float:
        return DAY + self.first_minute * 60.0

    @property
    def last_error_window_start(self) -> float:
        return DAY + self.last_minute * 60.0


PLAN = (
    Planted("payments-1", 130, 136, "database down: psycopg2.OperationalError tracebacks"),
    Planted("web-1", 600, 603, "upstream down: 502 on the API"),
    Planted("search-1", 900, 905, "pino level 50: upstream timeout talking to the index"),
    Planted("worker-1", 1170, 1173, "logfmt level=error: pod status not found"),
    Planted("payments-1", 1320, 1323, "the database outage again (a known issue coming back)"),
)
ONEOFF = ("checkout-1", 777, "unexpected coupon format")  # service, minute, message


def _prefix(service: str) -> str:
    return f"{service:<{_WIDTH}}| "


def _text_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _access(ts: float, path: str, status: int, rnd: random.Random) -> str:
    when = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (f'192.168.{rnd.randint(0, 9)}.{rnd.randint(2, 250)} - - [{when}] "GET {path} HTTP/1.1" {status} '
            f'{rnd.randint(150, 9000)} "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" "-"')


def _normal(service: str, ts: float, rnd: random.Random) -> list[str]:
    if service == "web-1":
        return [_access(ts, rnd.choice(("/", "/api/cart/{}", "/static/app.js", "/api/items/{}")).format(rnd.randint(1, 9999)),
                        rnd.choice((200, 200, 200, 304, 404)), rnd)]
    if service == "checkout-1":
        return [json.dumps({"asctime": _iso(ts), "levelname": rnd.choice(("INFO", "INFO", "DEBUG")),
                            "name": "checkout.orders", "message": "order placed",
                            "order_id": rnd.randint(10_000, 99_999), "duration_ms": rnd.randint(20, 180)})]
    if service == "payments-1":
        return [f"{_text_time(ts)} INFO [payments.api] POST /v1/payments/{rnd.randint(1000, 9999)} 201 "
                f"in {rnd.randint(30, 90)}ms"]
    if service == "search-1":
        return [json.dumps({"level": 30, "time": int(ts * 1000), "pid": 17, "hostname": "7d82d3f28bad",
                            "msg": "incoming request", "req": {"method": "GET", "url": f"/search?q=item{rnd.randint(1, 500)}"}},
                           separators=(",", ":"))]
    return [f'time="{_iso(ts)[:-1]}{rnd.randint(0, 999):03d}Z" level=info msg="DeletionGracePeriodSeconds set to 0" '
            f'namespace=inc-1-domain-c14-ns-{rnd.randint(1, 9)} pod=fe-{rnd.getrandbits(32):08x}']


def _error(service: str, ts: float, rnd: random.Random) -> list[str]:
    if service == "payments-1":
        return [f"{_text_time(ts)} ERROR [payments.api] POST /v1/payments/{rnd.randint(1000, 9999)} failed",
                "Traceback (most recent call last):",
                '  File "/srv/payments/api/views.py", line 88, in create_payment',
                "    charge = gateway.charge(order, card_token)",
                '  File "/srv/payments/db/pool.py", line 41, in connect',
                "    return psycopg2.connect(dsn, connect_timeout=3)",
                "psycopg2.OperationalError: could not connect to server: Connection refused"]
    if service == "web-1":
        return [_access(ts, f"/api/cart/{rnd.randint(1, 9999)}", 502, rnd)]
    if service == "search-1":
        return [json.dumps({"level": 50, "time": int(ts * 1000), "pid": 17, "hostname": "7d82d3f28bad",
                            "msg": "upstream timeout talking to the index", "req": {"method": "GET", "url": "/search"}},
                           separators=(",", ":"))]
    return [f'time="{_iso(ts)[:-1]}000Z" level=error msg="error retrieving pod status: pod '
            f'inc-1-enh-domain-c14-ns-2/hello-{rnd.getrandbits(32):08x} is not found: PodNotFound" '
            f'namespace=inc-1-enh-domain-c14-ns-2 reason= status=Pending']


def day_lines(lines: int = 200_000, seed: int = 23, errors_per_minute: int = 4) -> Iterator[str]:
    """About `lines` lines of `docker compose logs` for the day, in time order."""
    rnd = random.Random(seed)
    per_minute = max(len(SERVICES), lines // 1440)
    planted = {(p.service, m) for p in PLAN for m in range(p.first_minute, p.last_minute + 1)}
    for minute in range(1440):
        base = DAY + minute * 60.0
        out: list[tuple[float, int, str]] = []  # (time, order, line): a traceback stays together
        for i in range(per_minute):
            service = SERVICES[i % len(SERVICES)]
            ts = base + rnd.uniform(0.0, 59.9)
            out += [(ts, n, _prefix(service) + line) for n, line in enumerate(_normal(service, ts, rnd))]
        for service in SERVICES:
            if (service, minute) in planted:
                for i in range(errors_per_minute):
                    ts = base + 2.0 + i * (55.0 / errors_per_minute) + rnd.uniform(0.0, 1.0)
                    out += [(ts, n, _prefix(service) + line) for n, line in enumerate(_error(service, ts, rnd))]
        if minute == ONEOFF[1]:
            ts = base + 17.25
            out.append((ts, 0, _prefix(ONEOFF[0]) + json.dumps({
                "asctime": _iso(ts), "levelname": "ERROR", "name": "checkout.coupons", "message": ONEOFF[2],
                "coupon": "XMAS-2026-EXTRA"})))
        out.sort(key=lambda item: (item[0], item[1]))
        for _ts, _n, line in out:
            yield line


def write_day(path, lines: int = 200_000, seed: int = 23) -> int:  # noqa: ANN001 - str or Path
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in day_lines(lines, seed):
            out.write(line + "\n")
            n += 1
    return n


if __name__ == "__main__":
    import sys

    print(write_day(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200_000))
