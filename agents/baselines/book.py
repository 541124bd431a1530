"""One input record through the baselines: which table entries change, which results to publish.

`judge` reads the two tables through plain mappings (Faust tables in the stage, dicts in
`MemoryBook`), so the stage, the tests and the false-alarm benchmark run the same code.
Table `baseline-series` holds per series its state and per service (`"<service>|"`) its
series list; `baseline-buckets` holds per series and hour of the week its usual values.
Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from agents.baselines.config import BaselinesConfig
from agents.baselines.model import Point, Reference, bucket_of, observe
from agents.baselines.series import admit, points_of
from schemas.records import CheckResult, WindowSummary

__all__ = ["BUCKETS", "MemoryBook", "SERIES", "Judgement", "Observed", "judge"]

SERIES, BUCKETS = "baseline-series", "baseline-buckets"


@dataclass(frozen=True)
class Observed:
    """One new value of a series and how it was judged: what the period's health report is made of."""

    point: Point
    reference: Reference | None
    deviation: str | None


@dataclass
class Judgement:
    stores: list[tuple[str, str, Any]] = field(default_factory=list)  # (table, key, value)
    results: list[CheckResult] = field(default_factory=list)
    dropped: int = 0  # values of series over the per-service bound
    seen: list[Observed] = field(default_factory=list)  # each new value with its judgement (health reports)


def judge(record: WindowSummary | CheckResult, series: Mapping[str, Any], buckets: Mapping[str, Any],
          cfg: BaselinesConfig) -> Judgement:
    out = Judgement()
    indexes: dict[str, list[str]] = {}
    for point in points_of(record, cfg):
        index_key = f"{point.service}|"
        known = indexes.get(index_key) or series.get(index_key) or []
        admitted = admit(known, point.series, cfg)
        if admitted is None:
            out.dropped += 1
            continue
        if admitted is not known:
            indexes[index_key] = admitted
            out.stores.append((SERIES, index_key, admitted))
        bucket_key = f"{point.key}#{bucket_of(point.t, cfg.timezone)[0]}"
        seen = observe(series.get(point.key), buckets.get(bucket_key), point, cfg)
        if not seen.changed:
            continue
        out.seen.append(Observed(point, seen.reference, seen.deviation))
        if seen.result is not None:
            out.results.append(seen.result)
        out.stores += [(SERIES, point.key, seen.meta), (BUCKETS, bucket_key, seen.bucket)]
    return out


class MemoryBook:
    """The two tables as dicts: replays in tests and benchmarks."""

    def __init__(self, cfg: BaselinesConfig):
        self.cfg = cfg
        self.tables: dict[str, dict[str, Any]] = {SERIES: {}, BUCKETS: {}}

    def feed(self, record: WindowSummary | CheckResult) -> list[CheckResult]:
        judgement = judge(record, self.tables[SERIES], self.tables[BUCKETS], self.cfg)
        for table, key, value in judgement.stores:
            self.tables[table][key] = value
        return judgement.results
