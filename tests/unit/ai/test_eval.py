"""The local provider against the labelled evaluation set built from real logs.

Thresholds: the majority class (P2) alone scores 25/55 = 0.45 on severity, so 0.65 is
well above a trivial rule; measured 0.782 = 43/55 (0.982 on one-off) with
`python -m ops.bench.ai_eval` on 2026-12-02. No labelled P1 may be rated below P1:
missing an outage is the error users cannot forgive, over-paging is not.
"""

from __future__ import annotations

from ops.bench.ai_eval import evaluate
from tests.unit.ai.conftest import DATA


def test_local_classification_agrees_with_the_labels():
    report = evaluate(DATA / "eval_set.jsonl")
    assert report["items"] >= 50
    assert report["severity"] >= 0.65
    assert report["one_off"] >= 0.90
    missed_outages = sum(n for (label, got), n in report["confusion"].items() if label == "P1" and got != "P1")
    assert missed_outages == 0
