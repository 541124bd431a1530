"""The severity evaluation set (issue #13) is what it says, and impact never makes it worse."""

from __future__ import annotations

from ops.bench.severity_eval import AI_SET, SEVERITY_SET, evaluate, load


def test_the_set_is_labelled_with_reasons_and_says_when_the_labels_were_written():
    header = SEVERITY_SET.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("#") and "BEFORE the impact" in header
    items = load(SEVERITY_SET)
    assert len(items) > 55 and len({i["id"] for i in items}) == len(items)
    assert all(i["label"] in ("P1", "P2", "P3", "P4") and len(i["reason"]) > 10 for i in items)
    assert len(items) + len(load(AI_SET)) >= 100


def test_impact_rules_agree_at_least_as_well_and_miss_fewer_outages():
    for path in (SEVERITY_SET, AI_SET):
        items = load(path)
        before, after = evaluate(items, "before"), evaluate(items, "after")
        assert after["agreement"] >= before["agreement"], path.name
        assert after["p1_missed"] <= before["p1_missed"], path.name
