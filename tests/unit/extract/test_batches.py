"""The production batch path gives exactly what feeding one record at a time gives.

`PartitionExtractor.feed_records` tests whole fetched batches at once and counts the
common case inline; any difference from `feed` would be a line lost, an error missed
or a window moved. Input: every real sample file of tests/data/extract, interleaved
over three services, plus the records the fast path must never count blindly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor
from agents.extract.prefilter import is_candidate, records_to_parse
from agents.redact import _apply_rules

from .conftest import DATA, T0

ODD_RECORDS = [
    b'{"tick": %d}' % (T0 + 30),
    b"caf\xe9 latin-1, no error word",
    b'{"level":"info","msg":"cut',
    b"{",
    b'{"level":"info"}  ',
    b"plain\x00with a NUL {",
    b"E1",
    b"W12345 glog-like",
    b"   at com.acme.Foo.bar(Foo.java:1)",
    b'{"status_code": 503, "msg": "ok"}',
    b'{"Status": "504", "msg": "gateway"}',
    b"x" * 5000,
]


@dataclass
class Rec:
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


def _records() -> list[Rec]:
    values = [line.encode() for path in sorted(DATA.rglob("*")) if path.is_file() and path.suffix != ".md"
              and "expected" not in path.name for line in path.read_text(encoding="utf-8").splitlines()]
    values[100:100] = ODD_RECORDS
    values = values * 3  # the same lines again, later: known services, fingerprints seen before
    keys = [b"api", b"worker", b"db"]
    # The broker time runs ~70 s per 1,000 records: windows close and lines arrive late.
    records = [Rec(offset, keys[offset % 3] if offset % 97 else None, value, int((T0 + offset * 0.07) * 1000))
               for offset, value in enumerate(values)]
    # A service whose clock runs ahead of the broker's by a drifting 100-220 s, so which
    # of its lines are parsed to recalibrate its lag decides the minute of the others.
    for offset in range(1000, 2500):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(T0 + offset * 0.07 + 100 + offset % 400 * 0.3))
        records[offset] = Rec(offset, b"replay", f"{stamp},000 INFO [replay] job {offset} done".encode(),
                              records[offset].timestamp)
    return records


def _one_by_one(records: list[Rec], cfg: ExtractConfig, flush_every: int) -> list:
    extractor = PartitionExtractor(0, cfg)
    out = []
    for index, rec in enumerate(records):
        extractor.feed(rec.offset, rec.key, rec.value, rec.timestamp / 1000.0)
        if index % flush_every == flush_every - 1:
            out.append(extractor.flush())
    out.append(extractor.flush())
    return out


def _batched(records: list[Rec], cfg: ExtractConfig, batch: int, flush_every: int) -> list:
    extractor = PartitionExtractor(0, cfg)
    out = []
    for first in range(0, len(records), batch):
        extractor.feed_records(records[first:first + batch])
        if (first + batch) % flush_every == 0:
            out.append(extractor.flush())
    out.append(extractor.flush())
    return out


@pytest.mark.parametrize("batch", [1, 7, 250])
def test_batches_give_the_same_partials_and_dead_letters(batch):
    records = _records()
    assert len(records) > 2000
    cfg = ExtractConfig(max_line_bytes=4096)
    flush_every = 1750  # a multiple of every batch size above
    expected = _one_by_one(records, cfg, flush_every)
    got = _batched(records, cfg, batch, flush_every)
    assert [(p.model_dump() if p else None, [d.model_dump() for d in dead]) for p, dead in got] == \
           [(p.model_dump() if p else None, [d.model_dump() for d in dead]) for p, dead in expected]
    assert sum(p.dead_letters for p, _ in expected if p) >= 5  # the odd records did reach the dead letters


def test_a_batch_with_an_empty_record_is_still_exact():
    records = _records()[:400]
    records[50].value = None
    cfg = ExtractConfig()
    assert _batched(records, cfg, 400, 400)[0][0].model_dump() == _one_by_one(records, cfg, 400)[0][0].model_dump()


def test_the_batch_prefilter_selects_every_candidate():
    values = [rec.value for rec in _records()]
    selected = records_to_parse(values, 4096)
    missed = [v for i, v in enumerate(values) if is_candidate(v) and i not in selected]
    assert missed == []
    assert 0 < len(selected) < len(values)  # and it does leave lines to the fast path


SECRETS = [
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
    "connect postgres://app:s3cr3tPassw0rd@db.internal:5432/app",
    '{"api_key": "AKIAIOSFODNN7EXAMPLE", "password": "hunter2"}',
    "token=xoxb-123456789012-abcdefghijklmnop user=bob@example.com",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789 sk-ant-api03-abcdefghijklmnopqrstu",
    "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
]


def test_guarded_redaction_masks_exactly_what_every_rule_would():
    # Redaction skips a rule when none of its guard substrings occurs (it cannot match).
    lines = [line for path in sorted(DATA.rglob("*.log")) for line in path.read_text(encoding="utf-8").splitlines()]
    for text in [*SECRETS, *lines]:
        assert _apply_rules(text, guarded=True) == _apply_rules(text, guarded=False), text
    for text in SECRETS:
        assert _apply_rules(text, guarded=True) != text


@pytest.mark.parametrize("batched", [False, True])
def test_a_backlog_is_counted_in_its_own_minutes(batched):
    # Lines of 2009 sent today (broker time T0): the first line of a service is parsed,
    # so its lag is known before any line of it is counted at broker time.
    lines = (DATA / "lnav" / "logfile_access_log.0").read_text(encoding="utf-8").splitlines()
    records = [Rec(offset, b"vmw", line.encode(), int(T0 * 1000) + offset) for offset, line in enumerate(lines)]
    extractor = PartitionExtractor(0, ExtractConfig())
    if batched:
        extractor.feed_records(records)
    else:
        for rec in records:
            extractor.feed(rec.offset, rec.key, rec.value, rec.timestamp / 1000.0)
    partial, _ = extractor.flush()
    minute = time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(next(iter(partial.windows["vmw"])))))
    assert list(partial.windows["vmw"].values())[0]["lines"] == 3 and minute == "2009-07-20 22:59"
    assert partial.watermark < T0 - 3600
