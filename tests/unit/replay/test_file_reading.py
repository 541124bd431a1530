"""A replay reads each line of a file once for its service and its time
(`streams.replay.inputs.service_and_time`): what it finds must be what the service rule
(`agents.service_name.service_of_line`) and the extractor's time readers (`line_time`)
find, on real logs as written, behind a `docker compose logs` prefix, and on the
benchmark's generated day."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.extract.config import ExtractConfig
from agents.service_name import service_of_line
from ops.bench.replay_day import write_day
from streams.replay.inputs import file_records, line_time, service_and_time

DATA = Path(__file__).resolve().parents[2] / "data"
SAMPLES = (DATA / "extract",)  # real logs as written: filebeat's, lnav's, nginx, node, python, stack traces
CFG = ExtractConfig()
REFERENCE = 1_795_392_000.0  # 2026-11-23 00:00:00 UTC (`date -u -d 2026-11-23 +%s`)


def _apart(line: bytes, cfg: ExtractConfig = CFG) -> tuple[str, float | None]:
    return service_of_line(line, None, cfg.service_fields, cfg.service_map), line_time(line, cfg, REFERENCE)


def _real_lines() -> list[bytes]:
    lines = []
    for path in sorted(p for folder in SAMPLES for p in folder.rglob("*")):
        if path.is_file() and path.suffix not in (".json", ".md"):
            lines += [line for line in path.read_bytes().splitlines() if line.strip()]
    return lines


def test_real_logs_read_once_give_what_the_rule_and_the_time_readers_give():
    lines = _real_lines()
    assert len(lines) > 800  # the samples are there
    for prefix in (b"", b"api-1  | ", b"billing.worker_2 | ", b"API-1  | ", b"api-1\t| ", b"caf\xc3\xa9-1 | "):
        for line in lines:
            assert service_and_time(prefix + line, CFG, REFERENCE) == _apart(prefix + line), (prefix, line[:160])


def test_the_generated_day_read_once_gives_what_the_rule_and_the_time_readers_give(tmp_path):
    path = tmp_path / "day.log"
    write_day(path, 20_000)
    lines = [line.rstrip(b"\n") for line in path.read_bytes().splitlines() if line.strip()]
    assert len(lines) == write_day(tmp_path / "again.log", 20_000)
    assert [service_and_time(line, CFG, REFERENCE) for line in lines] == [_apart(line) for line in lines]


@pytest.mark.parametrize("line", [
    b'{"service": "billing", "ts": 1795392001.5, "msg": "x"}',
    b'{"app": "pay-svc", "time": "2026-11-23T00:00:01Z"}',
    b'{"msg": "no service, no time"}',
    b'[1, 2, 3]',
    b'{not json',
    b'api-1  | {"v":0,"level":30,"name":"bun","time":1795392001000,"msg":"hi"}',
    b'api-1  | [1, 2]',
    b'api-1  | {broken',
    b'api-1  | service=inner-svc level=error msg="x" time=2026-11-23T00:00:01Z',
    b'rsyslog-1 | <34>1 2026-11-23T00:00:01Z host billing 42 - - charge failed',
    b'api-1  | ',
    b'api-1  x | not a prefix',
    b'x' * 70 + b'  | the bar past the 80th byte',
    b'\xff\xfe not utf-8 | at all',
    b'Nov 23 00:00:01 host sshd[42]: Failed password | for root',
])
def test_edge_lines_read_once_as_apart(line):
    assert service_and_time(line, CFG, REFERENCE) == _apart(line)
    mapped = ExtractConfig(service_map={"pay-svc": "payments", "api-1": "api"})
    assert service_and_time(line, mapped, REFERENCE) == _apart(line, mapped)


def test_compose_lines_of_the_day_keyed_by_their_service_at_their_written_time():
    # Times from `date -u -d "2026-11-23T00:00:01Z" +%s` = 1795392001 and the line's fraction.
    lines = [
        b'web-1       | 192.168.9.242 - - [23/Nov/2026:00:00:01 +0000] "GET /api/cart/229 HTTP/1.1" 200 8545 "-" "-" "-"',
        b'checkout-1  | {"asctime": "2026-11-23T00:00:01.416Z", "levelname": "INFO", "name": "checkout.orders", '
        b'"message": "order placed"}',
        b'payments-1  | 2026-11-23 00:00:01,756 INFO [payments.api] POST /v1/payments/6743 201 in 35ms',
        b'search-1    | {"level":30,"time":1795392002135,"pid":17,"hostname":"7d82d3f28bad","msg":"incoming request"}',
    ]
    records = list(file_records(lines, CFG))
    assert [r.key for r in records] == [b"web-1", b"checkout-1", b"payments-1", b"search-1"]
    assert [round(r.at, 3) for r in records] == [1795392001.0, 1795392001.416, 1795392001.756, 1795392002.135]
