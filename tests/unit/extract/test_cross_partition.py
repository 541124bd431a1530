"""One service's lines on several `logs.raw` partitions: every error counted once.

librdkafka producers (kcat, rsyslog omkafka, Fluent Bit, Vector, confluent-kafka) hash
keys with CRC-32, aiokafka with murmur2, and unkeyed shippers spread lines over every
partition, so one service's minute arrives in pieces. These scenarios drive the real
batch-stage extractors of each source partition and the window books through the same
split the worker uses (`SourceExtractor.flush`), and compare with arithmetic on the
lines sent.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from agents.extract.batch import PARTIALS, SourceExtractor, is_checkpoint
from agents.extract.config import ExtractConfig
from agents.extract.windows import WindowBook, apply_partial, book_of
from schemas.records import PartialAggregate, WindowSummary

from .conftest import T0

PARTITIONS = 4


@dataclass
class Rec:
    offset: int
    key: bytes | None
    value: bytes
    timestamp: int  # ms


class Cluster:
    """P source partitions, each with its extractor, and P window books."""

    def __init__(self, partitions: int = PARTITIONS, cfg: ExtractConfig | None = None):
        self.cfg = cfg or ExtractConfig()
        self.partitions = partitions
        self.logs: list[list[Rec]] = [[] for _ in range(partitions)]
        self.read = [0] * partitions
        self.extractors = [SourceExtractor(p, self.cfg, partitions) for p in range(partitions)]
        self.books = [WindowBook(partition=p) for p in range(partitions)]
        self.published: list[tuple[int, bytes]] = []  # (book, value) in publish order
        self.summaries: list[WindowSummary] = []

    def produce(self, partition: int, key: bytes | None, value: bytes, at: float) -> None:
        log = self.logs[partition]
        log.append(Rec(len(log), key, value, int(at * 1000)))

    def tick(self, at: float) -> None:
        for p in range(self.partitions):
            self.produce(p, b"__tick__", b'{"tick": %.3f}' % at, at)

    def step(self, partition: int) -> None:
        """Feed what partition `partition` has not fed yet, flush, apply to the books."""
        records = self.logs[partition][self.read[partition]:]
        self.read[partition] = len(self.logs[partition])
        self.extractors[partition].feed_records(records)
        out, _last = self.extractors[partition].flush()
        for topic, book, _key, value in out:
            if topic == PARTIALS:
                self.published.append((book, value))
                partial = PartialAggregate.model_validate_json(value)
                self.summaries += apply_partial(self.books[book], partial, self.cfg)

    def step_all(self) -> None:
        for p in range(self.partitions):
            self.step(p)


def error_line(service: str, at: float, n: int) -> bytes:
    return json.dumps({"timestamp": at, "service": service, "level": "error",
                       "msg": f"payment declined for order {n}"}).encode()


def info_line(service: str, at: float) -> bytes:
    return json.dumps({"timestamp": at, "service": service, "level": "info", "msg": "GET /health 200"}).encode()


def test_errors_of_one_service_on_two_partitions_are_one_window_with_every_error():
    # The reproduction: two errors through kcat (partition 1), two through POST /logs (0).
    c = Cluster()
    at = T0 + 10
    c.produce(1, b"splitpay", error_line("splitpay", at, 1), at)
    c.produce(1, b"splitpay", error_line("splitpay", at + 1, 2), at + 1)
    c.produce(0, b"splitpay", error_line("splitpay", at + 2, 3), at + 2)
    c.produce(0, b"splitpay", error_line("splitpay", at + 3, 4), at + 3)
    c.step_all()
    c.tick(T0 + 60 + 6)  # past the window end plus the 5 s allowed lateness, on every partition
    c.step_all()
    windows = [s for s in c.summaries if s.service == "splitpay"]
    assert len(windows) == 1
    (window,) = windows
    assert (window.window_start, window.errors, window.lines) == (T0, 4, 4)
    assert sum(f.count for f in window.findings) == 4


def test_a_window_waits_for_the_slowest_partition():
    c = Cluster()
    c.produce(2, b"api", error_line("api", T0 + 5, 1), T0 + 5)
    for p in (0, 1, 2):  # partition 3 has not passed the window yet
        c.produce(p, b"__tick__", b'{"tick": %.3f}' % (T0 + 70), T0 + 70)
    c.step_all()
    assert c.summaries == []
    c.produce(3, b"api", error_line("api", T0 + 30, 2), T0 + 30)  # still in time
    c.produce(3, b"__tick__", b'{"tick": %.3f}' % (T0 + 70), T0 + 70)
    c.step_all()
    (window,) = [s for s in c.summaries if s.service == "api"]
    assert window.errors == 2


def test_any_partitioner_and_no_key_count_every_line_exactly_once():
    rnd = random.Random(12)
    c = Cluster()
    services = ["checkout", "billing", "search", "auth", "inventory"]
    expected: dict[tuple[str, float], list[int]] = {}
    n = 0
    for minute in range(6):
        for _ in range(400):
            at = T0 + minute * 60 + rnd.uniform(0, 59.9)
            service = rnd.choice(services)
            is_error = rnd.random() < 0.1
            value = error_line(service, at, n) if is_error else info_line(service, at)
            n += 1
            # keyed (either partitioner) or no key at all: any partition
            key = rnd.choice([service.encode(), None])
            c.produce(rnd.randrange(PARTITIONS), key, value, at)
            counts = expected.setdefault((service, T0 + minute * 60), [0, 0])
            counts[0] += 1
            counts[1] += is_error
        c.tick(T0 + minute * 60 + 59.9)
        for p in rnd.sample(range(PARTITIONS), PARTITIONS):
            c.step(p)
    c.tick(T0 + 7 * 60)
    c.step_all()
    got: dict[tuple[str, float], list[int]] = {}
    for s in c.summaries:
        assert (s.service, s.window_start) not in got, f"window {s.id} emitted twice"
        got[(s.service, s.window_start)] = [s.lines, s.errors]
    for key, counts in expected.items():
        assert got[key] == counts, key
    # Each service's windows came from one book only.
    for s in c.summaries:
        assert s.id.startswith(f"{s.service}|")
    assert {book_of(s, PARTITIONS) for s in services} <= set(range(PARTITIONS))


def test_redelivered_partials_count_nothing_twice():
    c = Cluster()
    for i in range(10):
        c.produce(i % PARTITIONS, b"api", error_line("api", T0 + i, i), T0 + i)
    c.step_all()
    # Redeliver everything published so far (a crash between produce and commit).
    for book, value in list(c.published):
        c.summaries += apply_partial(c.books[book], PartialAggregate.model_validate_json(value), c.cfg)
    c.tick(T0 + 66)
    c.step_all()
    (window,) = [s for s in c.summaries if s.service == "api"]
    assert window.errors == 10
    assert all(b.overlapping_ranges == 0 for b in c.books)


def test_a_restarted_source_resumes_after_its_checkpoint():
    c = Cluster(partitions=2)
    for i in range(6):
        c.produce(0, b"api", error_line("api", T0 + i, i), T0 + i)
    c.step(0)
    checkpoint = [v for book, v in c.published if book == 0][-1]  # the copy on book 0 of source 0
    c.extractors[0] = SourceExtractor(0, c.cfg, 2, checkpoint)
    assert c.extractors[0].resume_at == 6
    c.produce(0, b"api", error_line("api", T0 + 7, 7), T0 + 7)
    # the batch loop seeks to resume_at: feed from there
    records = c.logs[0][6:]
    c.extractors[0].feed_records(records)
    c.read[0] = len(c.logs[0])
    c.step(0)
    c.tick(T0 + 66)
    c.step_all()
    (window,) = [s for s in c.summaries if s.service == "api"]
    assert window.errors == 7


def test_partitions_nobody_writes_to_do_not_hold_windows_open():
    # Replays without ticks: one service, keyed, on one partition; the other three are
    # empty. Once they have been caught up and quiet for a few flushes they are idle.
    c = Cluster()
    for i in range(5):
        c.produce(2, b"api", error_line("api", T0 + i, i), T0 + i)
    c.produce(2, b"api", info_line("api", T0 + 80), T0 + 80)
    c.step(2)
    assert c.summaries == []
    markers = []
    for _ in range(3):
        for p in (0, 1, 3):
            out, _ = c.extractors[p].flush(caught_up=True)
            for _topic, book, _key, value in out:
                markers.append((p, value))
                c.summaries += apply_partial(c.books[book], PartialAggregate.model_validate_json(value), c.cfg)
    (window,) = [s for s in c.summaries if s.service == "api" and s.window_start == T0]
    assert window.errors == 5
    # One marker per book from each quiet partition, and never taken for a checkpoint
    # (it covers no offsets: resuming from it would re-read the partition).
    assert len(markers) == 3 * PARTITIONS
    assert not any(is_checkpoint(value, p) for p, value in markers)


def test_a_partition_that_had_data_is_waited_for_even_when_quiet():
    # A handover: partition 3 had lines, went quiet, its next owner is still starting.
    # The other partitions move on; partition 3's lines of the same minutes come later
    # and must still count in their own minutes, not as late.
    c = Cluster()
    c.produce(3, b"api", info_line("api", T0 + 1), T0 + 1)
    c.step_all()
    for _ in range(5):  # partition 3 caught up and quiet
        out, _ = c.extractors[3].flush(caught_up=True)
        assert out == []
    for p in (0, 1, 2):
        c.produce(p, b"web", info_line("web", T0 + 200), T0 + 200)
    c.step_all()
    assert [s for s in c.summaries if s.service == "api"] == []
    c.produce(3, b"api", error_line("api", T0 + 30, 1), T0 + 30)
    c.produce(3, b"api", info_line("api", T0 + 200), T0 + 200)
    c.step(3)
    first = [s for s in c.summaries if s.service == "api" and s.window_start == T0]
    assert [(s.lines, s.errors, s.late_lines) for s in first] == [(2, 1, 0)]
