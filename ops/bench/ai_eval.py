"""Agreement of the local AI provider with the labelled evaluation set.

Usage: python -m ops.bench.ai_eval [path/to/eval_set.jsonl]
Prints agreement per label (severity, one-off) and the disagreements. Reads only the
evaluation file; no network, no model.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from agents.local_ai.classify import classify_locally
from schemas.ai_tasks import ClassifyInput

__all__ = ["evaluate", "main"]

DEFAULT_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "ai" / "eval_set.jsonl"


def evaluate(path: Path = DEFAULT_SET) -> dict:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    severity_ok = one_off_ok = 0
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for item in items:
        out = classify_locally(ClassifyInput(service=item["finding"]["service"], finding=item["finding"],
                                             window_errors=item["window_errors"], window_lines=item["window_lines"],
                                             seen_before=item["seen_before"]))
        label = item["label"]
        confusion[(label["severity"], out.severity)] += 1
        severity_ok += out.severity == label["severity"]
        one_off_ok += out.one_off == label["one_off"]
        if out.severity != label["severity"] or out.one_off != label["one_off"]:
            misses.append((item["id"], label, {"severity": out.severity, "one_off": out.one_off}))
    n = len(items)
    return {"items": n, "severity": severity_ok / n, "one_off": one_off_ok / n,
            "confusion": confusion, "misses": misses}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    report = evaluate(Path(argv[0]) if argv else DEFAULT_SET)
    print(f"items: {report['items']}")
    print(f"severity agreement: {report['severity']:.3f}")
    print(f"one_off agreement:  {report['one_off']:.3f}")
    print("confusion (label -> local):")
    for (label, got), count in sorted(report["confusion"].items()):
        print(f"  {label} -> {got}: {count}")
    for item_id, label, got in report["misses"]:
        print(f"  miss {item_id}: label {label} local {got}")


if __name__ == "__main__":
    main()
