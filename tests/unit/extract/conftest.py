"""Helpers for the extract tests: real sample files and a small driver for the core."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pytest

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor
from schemas.records import PartialAggregate

DATA = Path(__file__).resolve().parents[2] / "data" / "extract"
LOGHUB = Path(__file__).resolve().parents[2] / "data" / "loghub2"
T0 = 1_700_000_040.0  # a minute boundary (epoch seconds divisible by 60)


def sample_lines(relative: str) -> list[str]:
    return (DATA / relative).read_text(encoding="utf-8").splitlines()


class Driver:
    """Feeds records with increasing offsets into one extractor."""

    def __init__(self, cfg: ExtractConfig | None = None, partition: int = 0) -> None:
        self.cfg = cfg or ExtractConfig()
        self.extractor = PartitionExtractor(partition, self.cfg)
        self.offset = 0

    def feed(self, value: bytes | str | None, at: float, key: bytes | str | None = b"api") -> None:
        if isinstance(value, str):
            value = value.encode()
        if isinstance(key, str):
            key = key.encode()
        self.extractor.feed(self.offset, key, value, at)
        self.offset += 1

    def feed_all(self, lines: Iterable[str], at: float, key: bytes | str | None = b"api", step: float = 0.001) -> None:
        for index, line in enumerate(lines):
            self.feed(line, at + index * step, key)

    def tick(self, at: float) -> None:
        self.feed(f'{{"tick": {at}}}', at, b"__tick__")

    def flush(self) -> PartialAggregate:
        partial, _ = self.extractor.flush()
        assert partial is not None
        return partial


def findings(partial: PartialAggregate, service: str | None = None) -> list[dict]:
    out = []
    for name, by_start in partial.windows.items():
        if service is None or name == service:
            for window in by_start.values():
                out.extend(window["findings"])
    return out


def total(partial: PartialAggregate, counter: str, service: str | None = None) -> int:
    return sum(w[counter] for name, by_start in partial.windows.items() if service in (None, name)
               for w in by_start.values())


@pytest.fixture
def driver() -> Driver:
    return Driver()


def partials_of(records: list[tuple[bytes | None, bytes | None, float]], cfg: ExtractConfig | None = None,
                batch: int = 500, flush_every: int = 5000, **switches: bool) -> list[tuple[dict, list]]:
    """(partial, dead letters) of each flush, feeding `records` (key, value, broker time)
    in batches of `batch` and flushing every `flush_every`, with the extractor's
    shortcuts set as `switches` say (fast_warnings=..., fast_frames=...)."""
    from ops.bench.extract_core import _Fetched

    extractor = PartitionExtractor(0, cfg or ExtractConfig())
    for name, value in switches.items():
        setattr(extractor, name, value)
    out = []
    for first in range(0, len(records), batch):
        extractor.feed_records([_Fetched(first + i, key, value, int(at * 1000))
                                for i, (key, value, at) in enumerate(records[first:first + batch])])
        if (first + batch) % flush_every == 0:
            partial, dead = extractor.flush()
            out.append((partial.model_dump() if partial else None, [d.model_dump() for d in dead]))
    partial, dead = extractor.flush()
    out.append((partial.model_dump() if partial else None, [d.model_dump() for d in dead]))
    return out
