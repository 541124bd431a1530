"""CPU micro-benchmark of the batch extraction core (no broker): lines/s of
`PartitionExtractor.feed_records` + `flush` over realistic mixed lines, beside, on the
same lines in the same process and run: plain `orjson.loads`; a floor of any extraction
(`orjson.loads` of JSON lines, UTF-8 decode of the others, plus one error regex per
line); and Drain3 (`add_log_message` per line, a pure-Python template miner; a dev
dependency, left out when it is not installed).

Lines: JSON (python-json-logger / pino / Vector-wrapped), plain text with levels,
nginx access lines; 2 % errors, a share of them multi-line Python/Java traces arriving
one line per record, keyed by service like the shippers send them.

Also, in the same run, the core as it was before the compiled parts and the JSON
warnings' short way (`reference`: the Python scan and request reading, what a machine
without a C compiler runs, and every warning parsed whole).

Usage: python -m ops.bench.extract_core [LINES] [RUNS] [core|loadgen]
       (default 1,000,000 x 3 of this module's lines; `loadgen`: the broker benchmark's
       lines, `ops/bench/loadgen.py`, two thirds of them requests)
Never used at run time.
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from typing import NamedTuple

import orjson

from agents import redact
from agents.extract import findings, prefilter
from agents.extract.compiled import pure_python
from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor

__all__ = ["generate", "main"]

SERVICES = [f"svc-{i}" for i in range(20)]
PATHS = ["/users/{}", "/orders/{}/items", "/health", "/api/v1/carts/{}", "/login"]
_TRACE_PY = [
    "Traceback (most recent call last):",
    '  File "/app/handlers/orders.py", line 88, in create_order',
    "    total = compute_total(cart)",
    '  File "/app/pricing.py", line 21, in compute_total',
    "    return sum(item.price for item in cart.items)",
    "AttributeError: 'NoneType' object has no attribute 'items'",
]
_TRACE_JAVA = [
    "java.lang.IllegalStateException: Connection pool exhausted after {} ms",
    "\tat com.acme.db.Pool.acquire(Pool.java:131)",
    "\tat com.acme.orders.OrderRepository.save(OrderRepository.java:57)",
    "\tat com.acme.orders.OrderService.place(OrderService.java:40)",
    "Caused by: java.net.SocketTimeoutException: connect timed out",
    "\t... 12 more",
]


def generate(count: int, seed: int = 7, error_rate: float = 0.02) -> list[tuple[bytes, bytes, float]]:
    """(key, value, broker_ts) records; about `error_rate` of the events are errors."""
    rng = random.Random(seed)
    start = 1_750_000_000.0
    out: list[tuple[bytes, bytes, float]] = []
    while len(out) < count:
        at = start + len(out) * 0.0002  # ~5,000 lines/s of event time
        service = rng.choice(SERVICES)
        key = service.encode()
        roll = rng.random()
        if roll < error_rate * 0.25:
            trace = _TRACE_PY if rng.random() < 0.5 else _TRACE_JAVA
            for line in trace:
                out.append((key, line.format(rng.randint(100, 9999)).encode(), at))
            continue
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"
        error = roll < error_rate
        kind = rng.random()
        if kind < 0.45:
            level = "error" if error else rng.choice(["info", "info", "info", "debug"])
            msg = (f"payment declined for order {rng.randint(1, 10**6)}" if error
                   else f"request handled in {rng.randint(1, 900)} ms for user {rng.randint(1, 10**5)}")
            value = orjson.dumps({"asctime": stamp, "levelname": level.upper(), "name": "app.handlers",
                                  "message": msg, "request_id": f"{rng.getrandbits(64):016x}"})
        elif kind < 0.65:
            level = 50 if error else 30
            value = orjson.dumps({"level": level, "time": int(at * 1000), "pid": 17, "hostname": "web-1",
                                  "msg": "upstream timeout" if error else "incoming request",
                                  "req": {"method": "GET", "url": rng.choice(PATHS).format(rng.randint(1, 999))}})
        elif kind < 0.85:
            status = rng.choice([500, 502, 503]) if error else rng.choice([200, 200, 200, 201, 204, 301, 404])
            path = rng.choice(PATHS).format(rng.randint(1, 99999))
            value = (f'10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - [{time.strftime("%d/%b/%Y:%H:%M:%S", time.gmtime(at))} +0000] '
                     f'"GET {path} HTTP/1.1" {status} {rng.randint(100, 9000)} "-" "Mozilla/5.0"').encode()
        else:
            level = "ERROR" if error else "INFO"
            msg = (f"could not connect to db-{rng.randint(1, 3)}:5432" if error
                   else f"cache refreshed, {rng.randint(1, 500)} entries")
            value = f"{stamp} {level} [worker-{rng.randint(1, 8)}] app.cache - {msg}".encode()
        out.append((key, value, at))
    return out[:count]


class _Fetched(NamedTuple):
    """The fields of an aiokafka ConsumerRecord that extraction reads."""

    offset: int
    key: bytes
    value: bytes
    timestamp: int  # ms


def _run_extractor(records: list[tuple[bytes, bytes, float]], reference: bool = False) -> tuple[float, int]:
    redact.forget()  # nothing remembered from the run before: redaction's answers,
    findings.forget()  # templates and types start empty
    extractor = PartitionExtractor(0, ExtractConfig())
    if not reference:
        return _timed(extractor, records)
    extractor.fast_warnings = extractor.fast_frames = False  # every JSON warning and frame parsed whole
    with pure_python():
        return _timed(extractor, records)


def _timed(extractor: PartitionExtractor, records: list[tuple[bytes, bytes, float]]) -> tuple[float, int]:
    batch = 500  # what one aiokafka getmany() hands over per partition, roughly
    rows = [_Fetched(offset, key, value, int(at * 1000)) for offset, (key, value, at) in enumerate(records)]
    errors = 0
    began = time.perf_counter()
    for first in range(0, len(rows), batch):
        extractor.feed_records(rows[first:first + batch])  # the production path (the batch loop)
        if first % 20000 == 19500:  # about one flush per second at the target rate
            partial, _ = extractor.flush()
            errors += sum(w["errors"] for s in partial.windows.values() for w in s.values())
    partial, _ = extractor.flush()
    if partial:
        errors += sum(w["errors"] for s in partial.windows.values() for w in s.values())
    return time.perf_counter() - began, errors


def _run_orjson(records: list[tuple[bytes, bytes, float]]) -> float:
    loads = orjson.loads
    began = time.perf_counter()
    for _key, value, _at in records:
        try:
            loads(value)
        except orjson.JSONDecodeError:
            pass
    return time.perf_counter() - began


_FLOOR_ERROR = re.compile(rb"(?i)error|exception|fatal|panic|traceback|critical")


def _run_floor(records: list[tuple[bytes, bytes, float]]) -> float:
    loads, search = orjson.loads, _FLOOR_ERROR.search
    began = time.perf_counter()
    for _key, value, _at in records:
        if value[:1] == b"{":
            loads(value)
        else:
            value.decode("utf-8", "replace")
        search(value)
    return time.perf_counter() - began


def _run_drain3(records: list[tuple[bytes, bytes, float]]) -> float | None:
    try:
        from drain3 import TemplateMiner
        from drain3.template_miner_config import TemplateMinerConfig
    except ImportError:
        return None
    from drain3.masking import MaskingInstruction

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    # Its usual setup (the masks of ops/bench/grouping.py): without masks every number
    # makes a new cluster and Drain3 slows to ~2,000 lines/s on these lines.
    config.masking_instructions = [
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    ]
    miner = TemplateMiner(config=config)
    began = time.perf_counter()
    for _key, value, _at in records:
        miner.add_log_message(value.decode("utf-8", "replace"))
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else 1_000_000
    runs = int(args[1]) if len(args) > 1 else 3
    if len(args) > 2 and args[2] == "loadgen":
        from ops.bench.loadgen import mixed_lines
        records = [(key, value, 1_790_000_000 + i * 0.001) for i, (key, value) in enumerate(mixed_lines(count))]
    else:
        records = generate(count)
    extract_times, reference_times, decode_times, floor_times, drain_times, errors = [], [], [], [], [], 0
    for _ in range(runs):  # alternating, so machine noise falls on every side alike
        elapsed, errors = _run_extractor(records)
        extract_times.append(elapsed)
        reference_times.append(_run_extractor(records, reference=True)[0])
        decode_times.append(_run_orjson(records))
        floor_times.append(_run_floor(records))
        drained = _run_drain3(records)
        if drained is not None:
            drain_times.append(drained)
    extract_rate = count / statistics.median(extract_times)
    decode_rate = count / statistics.median(decode_times)
    floor_rate = count / statistics.median(floor_times)
    print(f"lines: {count:,}  runs: {runs}  error findings counted: {errors:,}")
    reference_rate = count / statistics.median(reference_times)
    print(f"extract core (feed+flush): {extract_rate:,.0f} lines/s (median; compiled parts: "
          f"{'yes' if prefilter.COMPILED else 'no, not built'})")
    print(f"  before (all Python, warnings parsed whole): {reference_rate:,.0f} lines/s, "
          f"now/before {extract_rate / reference_rate:.2f}")
    print(f"orjson.loads baseline:     {decode_rate:,.0f} lines/s (median)")
    print(f"floor (decode + 1 regex):  {floor_rate:,.0f} lines/s (median)")
    if drain_times:
        drain_rate = count / statistics.median(drain_times)
        print(f"Drain3 add_log_message:    {drain_rate:,.0f} lines/s (median)")
        print(f"ratio extract/Drain3:      {extract_rate / drain_rate:.2f}")
    else:
        print("Drain3:                    not installed (pip install -e .[dev])")
    print(f"ratio extract/orjson:      {extract_rate / decode_rate:.2f}")
    print(f"ratio extract/floor:       {extract_rate / floor_rate:.2f}")
    print(f"runs (s): extract {[round(t, 2) for t in extract_times]} before {[round(t, 2) for t in reference_times]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
