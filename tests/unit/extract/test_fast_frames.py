"""Indented lines of an open exception joined without a whole parse
(`PartitionExtractor._frame`) give the partials the whole parse gives (`fast_frames =
False`, the reference): the same findings (the same stacks, so the same fingerprints and
samples), lines, late lines and dead letters. Compared on the benchmarks' generated
days, on real stack traces of seven languages, and on streams written to hit each
condition of the shortcut. No broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor
from ops.bench import extract_core, loadgen
from tests.unit.extract.conftest import T0, partials_of

STACKS = Path(__file__).resolve().parents[2] / "data" / "extract" / "stacktraces"


def _partials(records: list[tuple[bytes | None, bytes | None, float]], fast: bool, cfg: ExtractConfig | None = None,
              batch: int = 500, flush_every: int = 5000) -> list[tuple[dict, list]]:
    return partials_of(records, cfg, batch, flush_every, fast_frames=fast)


def _findings(partials: list[tuple[dict, list]]) -> list[dict]:
    return [f for partial, _ in partials if partial for s in partial["windows"].values() for w in s.values()
            for f in w["findings"]]


def test_the_same_partials_on_the_generated_days():
    days = [(key, value, 1_790_000_000 + i * 0.001) for i, (key, value) in enumerate(loadgen.mixed_lines(30_000))]
    fast, whole = _partials(days, True), _partials(days, False)
    assert fast == whole
    # loadgen: 2 % of events are errors, 30 % of those a 7-line Python traceback of one of
    # four exceptions, whose frames a finding's sample shows
    sampled = [f["samples"][0] for f in _findings(whole) if f["samples"]
               and f["error_type"] in ("psycopg2.OperationalError", "redis.exceptions.TimeoutError", "KeyError",
                                       "ValueError")]
    assert sampled and all('File "/srv/app/db.py", line 41, in connect' in sample for sample in sampled)


def test_the_same_partials_on_the_extraction_core_lines():
    lines = extract_core.generate(20_000)
    assert _partials(lines, True) == _partials(lines, False)


def _real_stacks() -> list[str]:
    """Every multi-line stack trace of the collected real ones (Java, Python, Go, Node, C#,
    Ruby, PHP, Dart ...), each as the lines a shipper sends one by one."""
    stacks = json.loads((STACKS / "all_exceptions.json").read_text())
    texts = [s if isinstance(s, str) else s.get("trace", "") for s in (stacks.values() if isinstance(stacks, dict)
                                                                     else stacks)]
    texts += [p.read_text(errors="replace") for p in sorted(STACKS.glob("*.log"))]
    return [t for t in texts if t.count("\n") >= 2]


def test_the_same_partials_on_real_stack_traces():
    stacks = _real_stacks()
    assert len(stacks) >= 20
    records, at = [], T0
    for n, stack in enumerate(stacks):
        key = f"svc-{n % 3}".encode()
        records.append((key, f"2024-05-01 10:00:00,000 INFO [app] request {n} started".encode(), at))
        records.append((key, f"2024-05-01 10:00:00,100 ERROR [app] request {n} failed".encode(), at + 0.1))
        for k, line in enumerate(stack.splitlines()):
            records.append((key, line.encode(), at + 0.1 + k * 0.001))
        at += 2.0
    for batch in (1, 13, 500):
        fast, whole = _partials(records, True, batch=batch), _partials(records, False, batch=batch)
        assert fast == whole
    indented = sum(1 for _k, v, _a in records if v[:1] in (b" ", b"\t"))
    assert indented > 200 and len(_findings(whole)) >= len(stacks)


@pytest.mark.parametrize("batch", [1, 4, 500])
def test_the_same_partials_where_the_shortcut_must_step_aside(batch):
    api, web = b"api", b"web"
    day = "2023-11-14 22:"  # T0's day and hour: the lines' own times are trusted
    edges = [
        b"    result = charge(card)",  # '=' but nothing logfmt: joined the short way
        b"    log(level=3, msg=x)",  # logfmt words: the whole parse reads it
        b"    call(msg=hello)",
        b"    lvl=warn retry",
        b'  10.0.0.1 - - [14/Nov/2023:22:14:01 +0000] "GET /pay HTTP/1.1" 500 1',  # an access line
        b'  File "pay.py", line 3, in pay\\nValueError: escaped break',
        b'  File "pay.py", line 3, in pay\nValueError: two lines in one record',
        b"\tat com.shop.Pay.charge(Pay.java:42)",
        b"  \xff\xfe not UTF-8",
        b"  " + b"x" * 3000,  # over max_line_bytes
        b"  ERROR an indented level word",
        b"   at Shop.Pay() in Pay.cs:line 7",
        b"  ",
        b"  service=billing",  # names a service: its key then names none
        b"  app=pay",
    ]
    records = [
        (api, f"{day}14:00,000 INFO [api] first line: the key is learned".encode(), T0),
        (web, f"{day}14:00,000 INFO [web] first".encode(), T0),
    ]
    at = T0 + 1
    for n, edge in enumerate(edges):  # each inside an exception of its own, between frames
        key = f"svc-{n}".encode()
        records += [
            (key, f"{day}14:{int(at - T0):02d},000 INFO [svc] the key is learned".encode(), at),
            (key, f"{day}14:{int(at - T0):02d},000 ERROR [svc.views] payment {n} failed".encode(), at),
            (key, b"Traceback (most recent call last):", at + 0.01),
            (key, b'  File "/app/pay.py", line 3, in pay', at + 0.02),
            (key, edge, at + 0.03),
            (key, b'  File "/app/card.py", line 8, in charge', at + 0.04),
            (key, b"ValueError: bad card", at + 0.05),
        ]
        at += 1
    records += [
        (web, b"  indented, but web has no open block", at),
        (api, f"{day}14:{int(at - T0):02d},000 ERROR [api.views] refund failed".encode(), at),
        (api, b'  File "/app/refund.py", line 9, in refund', at + 0.01),
        (api, b'  File "/app/refund.py", line 12, in undo', at + 4.5),  # after the join gap
        (api, b"  a frame placed in a minute already closed", T0 - 120),
        (api, f"{day}15:10,000 ERROR [api.views] next minute".encode(), T0 + 70),
        (api, b"   at Shop.Pay() in Pay.cs:line 7", T0 + 70.01),
        (api, None, T0 + 70.02),
    ]
    cfg = ExtractConfig(max_line_bytes=2048)
    fast, whole = _partials(records, True, cfg, batch=batch), _partials(records, False, cfg, batch=batch)
    assert fast == whole
    assert [d["reason"] for _p, dead in whole for d in dead] == ["invalid_utf8", "too_large", "empty"]


def test_the_shortcut_is_taken():
    """Not only equal: the frames of a generated day go the short way."""
    days = [(key, value, 1_790_000_000 + i * 0.001) for i, (key, value) in enumerate(loadgen.mixed_lines(10_000))]
    taken = []
    extractor = PartitionExtractor(0, ExtractConfig())
    original = extractor._frame
    extractor._frame = lambda *a: taken.append(original(*a)) or taken[-1]
    extractor.feed_records([extract_core._Fetched(i, k, v, int(at * 1000)) for i, (k, v, at) in enumerate(days)])
    # loadgen: 0.6 % of events are tracebacks with four indented lines each; "    result = ..." is one
    assert sum(taken) > 0.5 * 10_000 * 0.02 * 0.3 * 4
