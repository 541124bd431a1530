"""Grouping accuracy (GA) of Logwarden's grouping beside Drain3, on loghub template sets.

GA as in loghub-2.0: a message counts as correct iff the group it was put in holds
exactly the messages of its ground-truth group. The input of every parser is the
`Content` column of `<System>_2k.log_structured[_corrected].csv`, one generic
configuration for all systems. Columns: `fingerprint` is the production path (the
fingerprint extraction gives an error line, `Signal.from_message`, stateless), `miner`
the `TemplateMiner` (stateful), then Drain3 (a dev-only baseline).

Usage: python -m ops.bench.grouping [DATA_DIR ...]
  default: the loghub-2.0 corrected templates (tests/data/loghub2) and, when present, the
  original loghub templates (`../shared/data/loghub` beside the repository), one table each.
Never used at run time; reads only the data directories it is given.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable

from agents.extract.findings import Signal
from agents.extract.templates import TemplateMiner

__all__ = ["grouping_accuracy", "load_system", "main"]

_REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIRS = (_REPO / "tests" / "data" / "loghub2", _REPO.parent / "shared" / "data" / "loghub")
_STRUCTURED = ("*_structured_corrected.csv", "*_structured.csv")


def _structured(folder: Path) -> Path | None:
    return next((p for pattern in _STRUCTURED for p in sorted(folder.glob(pattern))), None)


def load_system(folder: Path) -> tuple[list[str], list[str]]:
    """(messages, ground-truth templates) of one system folder (corrected templates first)."""
    path = _structured(folder)
    assert path is not None, folder
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["Content"] for r in rows], [r["EventTemplate"] for r in rows]


def grouping_accuracy(predicted: list[object], truth: list[str]) -> float:
    """Share of messages whose predicted group equals their true group exactly."""
    true_size = Counter(truth)
    groups: dict[object, list[int]] = defaultdict(list)
    for index, label in enumerate(predicted):
        groups[label].append(index)
    correct = 0
    for members in groups.values():
        labels = {truth[i] for i in members}
        if len(labels) == 1 and true_size[truth[members[0]]] == len(members):
            correct += len(members)
    return correct / len(truth) if truth else 0.0


def _logwarden_fingerprint(messages: Iterable[str]) -> list[object]:
    return [Signal.from_message("bench", "error", 0.0, m).fingerprint for m in messages]


def _logwarden_miner(messages: Iterable[str]) -> list[object]:
    miner = TemplateMiner()
    templates = [miner.add(m)[1] for m in messages]
    return [miner.group(t) for t in templates]


def _drain3(masks: bool) -> Callable[[Iterable[str]], list[object]]:
    def run(messages: Iterable[str]) -> list[object]:
        from drain3 import TemplateMiner as Drain  # dev-only baseline
        from drain3.masking import MaskingInstruction
        from drain3.template_miner_config import TemplateMinerConfig

        config = TemplateMinerConfig()
        config.profiling_enabled = False
        if masks:
            config.masking_instructions = [
                MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
                MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
                MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
            ]
        drain = Drain(config=config)
        return [drain.add_log_message(m)["cluster_id"] for m in messages]

    return run


PARSERS: dict[str, Callable[[Iterable[str]], list[object]]] = {
    "fingerprint": _logwarden_fingerprint,
    "miner": _logwarden_miner,
    "drain3": _drain3(masks=False),
    "drain3+masks": _drain3(masks=True),
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    dirs = [Path(a) for a in args] or [d for d in DEFAULT_DIRS if d.is_dir()]
    for data_dir in dirs:
        _table(data_dir)
    return 0


def _table(data_dir: Path) -> None:
    systems = sorted(p for p in data_dir.iterdir() if p.is_dir() and _structured(p) is not None)
    names = list(PARSERS)
    print(f"{data_dir}")
    print(f"{'system':<12}" + "".join(f"{n:>14}" for n in names))
    totals: dict[str, list[float]] = {n: [] for n in names}
    for folder in systems:
        messages, truth = load_system(folder)
        row = f"{folder.name:<12}"
        for name in names:
            ga = grouping_accuracy(PARSERS[name](messages), truth)
            totals[name].append(ga)
            row += f"{ga:>14.3f}"
        print(row, flush=True)
    print(f"{'average':<12}" + "".join(f"{sum(v) / len(v):>14.3f}" for v in totals.values()))
    print(f"{'minimum':<12}" + "".join(f"{min(v):>14.3f}" for v in totals.values()))
    print()


if __name__ == "__main__":
    raise SystemExit(main())
