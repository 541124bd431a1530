"""The fast path of fatal errors, extraction side: a fatal line is sent ahead of its window.

`SourceExtractor.flush` publishes one `FatalSignal` on `signals.urgent` per fatal
fingerprint, window and source partition (not one per line), keyed by the service,
carrying the first fatal line's event time and the finding as counted so far; the
window's partial still counts every line as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pytest

from agents.extract.batch import PARTIALS, URGENT, SourceExtractor
from agents.extract.config import ExtractConfig
from schemas.records import FatalSignal

from .conftest import T0


@dataclass
class Rec:
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


class Source:
    """One `SourceExtractor` fed record by record, as the batch loop does."""

    def __init__(self, cfg: ExtractConfig | None = None, partition: int = 0, books: int = 2) -> None:
        self.extractor = SourceExtractor(partition, cfg or ExtractConfig(), books)
        self.offset = 0

    def feed(self, lines: list[str], at: float, key: bytes = b"api", step: float = 0.01) -> None:
        records = []
        for index, line in enumerate(lines):
            records.append(Rec(self.offset, key, line.encode(), int((at + index * step) * 1000)))
            self.offset += 1
        self.extractor.feed_records(records)

    def flush(self) -> tuple[list[FatalSignal], list[dict]]:
        out, _ = self.extractor.flush()
        urgent = [FatalSignal.model_validate_json(value) for topic, _, _, value in out if topic == URGENT]
        assert all(key == s.service.encode() for (topic, part, key, _), s in zip(out, urgent)
                   if topic == URGENT and part == -1)
        partials = [orjson.loads(value) for topic, _, _, value in out if topic == PARTIALS]
        return urgent, partials


def _json(level: str, msg: str, at: float, service: str = "api") -> str:
    return orjson.dumps({"ts": at, "level": level, "service": service, "msg": msg}).decode()


def _counted(partials: list[dict], fingerprint: str) -> int:
    return sum(f["count"] for p in partials for by_start in p["windows"].values() for w in by_start.values()
               for f in w["findings"] if f["fingerprint"] == fingerprint)


def test_one_urgent_record_per_fatal_fingerprint_per_window_not_per_line():
    source = Source()
    at = T0 + 10
    lines = [_json("info", "served", at)] + [_json("fatal", "cannot open ledger file", at + 0.5 + i) for i in range(5)]
    source.feed(lines, at)
    assert source.extractor.urgent  # the batch loop flushes at once, not in a second
    urgent, partials = source.flush()
    (signal,) = urgent
    assert signal.service == "api" and signal.window_start == T0 and signal.at == pytest.approx(at + 0.5)
    assert signal.finding.level == "fatal" and signal.finding.count == 5
    assert signal.id == f"api|{int(T0)}|{signal.finding.fingerprint}"
    assert _counted(partials, signal.finding.fingerprint) == 5  # the window counts every line, as before
    # More of the same fatal error in the same window: counted in the partial, not sent again.
    source.feed([_json("fatal", "cannot open ledger file", at + 20 + i) for i in range(3)], at + 20)
    urgent, partials = source.flush()
    assert urgent == [] and _counted(partials, signal.finding.fingerprint) == 3
    # The next window: sent once more, for that window.
    source.feed([_json("fatal", "cannot open ledger file", T0 + 61)], T0 + 61)
    (later,), _ = source.flush()
    assert later.window_start == T0 + 60 and later.finding.fingerprint == signal.finding.fingerprint


@pytest.mark.parametrize("line", [
    "Dec  2 03:01:02 host kernel: Out of memory: Killed process 4242 (java) total-vm:123kB",
    "panic: runtime error: invalid memory address or nil pointer dereference",
    'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
    "2026-12-02 03:01:02 ERROR worker 7 exited: Segmentation fault (core dumped)",
    "PANIC: could not write to file pg_wal/xlogtemp.33",
])
def test_crashes_take_the_fast_path_whatever_their_level_word(line):
    source = Source()
    source.feed([line, "2026-12-02 03:01:03 INFO next request"], T0 + 5)
    # One second on (not the 4 s an error line waits for its exception): complete.
    source.feed(['{"tick": %f}' % (T0 + 6)], T0 + 6, key=b"__tick__")
    urgent, _ = source.flush()
    assert len(urgent) == 1, line


def test_ordinary_errors_stay_window_bound():
    source = Source()
    source.feed([_json("error", "payment declined by upstream", T0 + 1),
                 _json("critical", "queue is filling up", T0 + 2)], T0 + 1)
    urgent, partials = source.flush()
    assert urgent == [] and partials


def test_fatal_patterns_and_levels_are_configuration():
    cfg = ExtractConfig(fatal_levels=[], fatal_patterns=[r"database unreachable"])
    source = Source(cfg)
    source.feed([_json("fatal", "cannot open ledger file", T0 + 1),
                 _json("error", "Database unreachable after 3 retries", T0 + 2)], T0 + 1)
    (signal,), _ = source.flush()
    assert "unreachable" in signal.finding.title.lower()


def test_each_source_partition_sends_its_own_and_the_ids_agree():
    at = T0 + 3
    ids = []
    for partition in (0, 1):
        source = Source(partition=partition)
        source.feed([_json("fatal", "cannot open ledger file", at + partition)], at)
        (signal,), _ = source.flush()
        assert signal.source_partition == partition
        ids.append(signal.id)
    assert ids[0] == ids[1]  # the reducer takes the first and drops the other


def test_the_patterns_literal_pieces_only_skip_a_search_that_finds_nothing():
    """`is_fatal` looks for each pattern's literal piece in the lower-cased text before
    searching with the patterns: over real crash and OOM lines, stack traces and log
    lines, in three casings, the answer is the patterns' own, with the default patterns
    and with custom ones (one with no piece of its own makes every text searched)."""
    import json
    from pathlib import Path

    from agents.extract.accounts import WindowAccounts

    data = Path(__file__).resolve().parents[2] / "data"
    texts = []
    for name in ("crash_lines.jsonl", "oom_lines.jsonl"):
        for line in (data / "fixes" / name).read_text().splitlines():
            record = json.loads(line)
            texts += [v for v in record.values() if isinstance(v, str)] if isinstance(record, dict) else [line]
    for path in sorted((data / "extract" / "stacktraces").glob("*.log")):
        texts.append(path.read_text(errors="replace"))
    for path in sorted((data / "loghub2").glob("*/*.csv")):
        texts += path.read_text(errors="replace").splitlines()[:200]
    texts += ["panic: runtime error: index out of range", "x\nfatal error: concurrent map writes",
              "Out of memory: Killed process 4242 (java)", "java.lang.OutOfMemoryError: Java heap space",
              "Segmentation fault (core dumped)", "signal SIGSEGV: segmentation violation", "a sigsegv!",
              "kernel: oom-kill:constraint", "OOMKilled", "panicked at 'x'", "http: panic serving 1.2.3.4",
              "app[42]: segfault at 0000 ip 7f00", "segv in worker 3"]
    texts += [t.upper() for t in texts] + [t.title() for t in texts]
    for patterns in (None, ["OOMKilled", r"exit code 13\d"], [r"\d+ bytes lost", "OOMKilled"], ["segfaults?"],
                     ["crashed|segv"]):
        cfg = ExtractConfig() if patterns is None else ExtractConfig(fatal_patterns=patterns)
        accounts = WindowAccounts(cfg)
        answers = [accounts.is_fatal("error", text) for text in texts]
        assert answers == [accounts._fatal_text.search(text) is not None for text in texts]
        assert (10 if patterns is None else 2) < sum(answers) < len(texts) - 100
    assert WindowAccounts(ExtractConfig(fatal_patterns=[r"\d+ bytes lost"]))._fatal_pieces is None
