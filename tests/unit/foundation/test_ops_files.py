"""ops/ files refer to things that exist: metric names the code exports, workers the
compose file defines, runbooks the allowlist names."""

from __future__ import annotations

import re

import yaml
from prometheus_client import REGISTRY

from tests.conftest import ROOT


def _exported_metric_names() -> set[str]:
    # Importing the shells registers every metric the worker exports.
    import agents.extract.agent  # noqa: F401
    import agents.gateway.agent  # noqa: F401
    import agents.incidents.agent  # noqa: F401
    import agents.notify.agent  # noqa: F401

    names = set()
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            names.add(sample.name)
        names.add(metric.name)
        if metric.type == "counter":  # labelled counters have no samples until used
            names.add(metric.name + "_total")
    return names


def test_alert_rules_use_metrics_that_exist():
    rules = yaml.safe_load((ROOT / "ops/prometheus/logwarden-rules.yml").read_text())
    exported = _exported_metric_names()
    used = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            used |= set(re.findall(r"\blogwarden_[a-z_]+", rule["expr"]))
    assert used, "no logwarden metric used"
    assert used <= exported, used - exported


def test_scrape_targets_are_the_compose_workers():
    prom = yaml.safe_load((ROOT / "ops/prometheus/prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.redpanda.yml").read_text())
    targets = prom["scrape_configs"][0]["static_configs"][0]["targets"]
    for target in targets:
        host, port = target.split(":")
        assert host in compose["services"] and port == "6066"
