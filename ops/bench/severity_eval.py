"""Agreement of the severity decision with the labelled severity set (issue #13).

Usage:
    python -m ops.bench.severity_eval                 # the current rules
    python -m ops.bench.severity_eval --rules before  # the rules before impact (classification alone)

What is measured is what a person sees: P4 when the lifecycle's one-off rule makes it a
silent ticket (`IncidentsConfig.oneoff_*`, seen once, new), else the severity: the local
classification (`agents.local_ai.classify`, given the endpoint's access-log counts as
`decisions.classify_payload` gives them), raised by the impact floor
(`agents.incidents.impact`, its defaults) with `--rules after`. Sets: the severity set
(`tests/data/severity/severity_set.jsonl`, labels P1..P4 written before the impact rules)
and the earlier AI set (`tests/data/ai/eval_set.jsonl`, 55 items, P1..P3 plus one_off,
read as P4 when one_off). No network, no model.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from agents.incidents.config import IncidentsConfig
from agents.local_ai.classify import classify_locally
from schemas.ai_tasks import ClassifyInput
from schemas.records import Finding, RouteCount

__all__ = ["decide", "evaluate", "load", "main"]

ROOT = Path(__file__).resolve().parents[2]
SEVERITY_SET = ROOT / "tests" / "data" / "severity" / "severity_set.jsonl"
AI_SET = ROOT / "tests" / "data" / "ai" / "eval_set.jsonl"
_RANK = {"P4": 0, "P3": 1, "P2": 2, "P1": 3}


def load(path: Path) -> list[dict[str, Any]]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        item = json.loads(line)
        if isinstance(item.get("label"), dict):  # the AI set: {"severity": .., "one_off": ..}
            item["label"] = "P4" if item["label"]["one_off"] else item["label"]["severity"]
            item.setdefault("reason", item.get("rationale", ""))
        items.append(item)
    return items


def decide(item: dict[str, Any], rules: str = "after", cfg: IncidentsConfig | None = None) -> str:
    cfg = cfg or IncidentsConfig()
    finding = Finding.model_validate(item["finding"])
    # The route's access-log counts, as `decisions.classify_payload` hands them on (none: unknown).
    route = (RouteCount(requests=item["endpoint_requests"], failed=item["endpoint_failed"])
             if item.get("endpoint_requests") else None)
    inp = ClassifyInput(service=finding.service, finding=finding, window_errors=item["window_errors"],
                        window_lines=item["window_lines"], route=route, seen_before=item["seen_before"])
    severity = classify_locally(inp).severity
    floor = ""
    if rules == "after":
        from agents.incidents.impact import Traffic, impact_floor
        traffic = Traffic(errors=item["window_errors"], lines=item["window_lines"],
                          endpoint_requests=item.get("endpoint_requests", 0),
                          endpoint_failed=item.get("endpoint_failed", 0))
        floor = impact_floor(finding, traffic, cfg.severity).severity
        if floor and _RANK[floor] > _RANK[severity]:
            severity = floor
    oneoff = (finding.kind == "log" and finding.count <= cfg.oneoff_max_count and finding.level in cfg.oneoff_levels
              and item["seen_before"] == 0 and floor != "P1")
    return "P4" if oneoff else severity


def evaluate(items: list[dict[str, Any]], rules: str) -> dict[str, Any]:
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for item in items:
        got = decide(item, rules)
        confusion[(item["label"], got)] += 1
        if got != item["label"]:
            misses.append((item["id"], item["label"], got, item.get("reason", "")))
    agree = sum(n for (label, got), n in confusion.items() if label == got)
    under_p1 = sum(n for (label, got), n in confusion.items() if label == "P1" and got != "P1")
    return {"items": len(items), "agreement": agree / len(items) if items else 0.0, "confusion": confusion,
            "misses": misses, "p1_missed": under_p1, "p1_total": sum(1 for i in items if i["label"] == "P1")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", choices=("before", "after"), default="after")
    parser.add_argument("--misses", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    for name, path in (("severity set", SEVERITY_SET), ("AI set", AI_SET)):
        report = evaluate(load(path), args.rules)
        print(f"{name} ({path.relative_to(ROOT)}), rules {args.rules}: {report['items']} items, "
              f"agreement {report['agreement']:.3f}, P1 missed {report['p1_missed']}/{report['p1_total']}")
        labels = ("P1", "P2", "P3", "P4")
        print("  label \\ decided  " + "  ".join(labels))
        for label in labels:
            print(f"  {label}               " + "  ".join(f"{report['confusion'][(label, got)]:>2}" for got in labels))
        if args.misses:
            for item_id, label, got, reason in report["misses"]:
                print(f"  miss {item_id}: label {label}, decided {got} ({reason[:90]})")
    both = load(SEVERITY_SET) + load(AI_SET)
    report = evaluate(both, args.rules)
    print(f"both sets: {report['items']} items, agreement {report['agreement']:.3f}, "
          f"P1 missed {report['p1_missed']}/{report['p1_total']}")


if __name__ == "__main__":
    main()
