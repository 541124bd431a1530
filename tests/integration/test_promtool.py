"""The shipped Prometheus rules and the worker's metrics, checked by Prometheus's own promtool.

`promtool test rules` evaluates the alert rules over input series
(tests/data/prometheus/rules_test.yml: when each alert must and must not fire, by
Prometheus's documented `for` semantics); `promtool check metrics` lints the exposition
the worker serves on /metrics. promtool comes from Debian's `prometheus` package
(installed by .ci/run).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing (Debian package prometheus)")


def _promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, timeout=60, cwd=ROOT)


def test_alert_rules_are_valid():
    done = _promtool("check", "rules", "ops/prometheus/logwarden-rules.yml")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert b"4 rules found" in done.stdout


def test_alert_rules_fire_when_and_only_when_they_should():
    done = _promtool("test", "rules", "tests/data/prometheus/rules_test.yml")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_scrape_config_is_valid():
    done = _promtool("check", "config", "--syntax-only", "ops/prometheus/prometheus.yml")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_worker_metrics_pass_promtool_lint():
    # Importing the stage shells registers every metric a worker exports; labelled ones
    # get a sample each so their lines are in the exposition too.
    import agents.extract.agent  # noqa: F401
    import agents.gateway.agent  # noqa: F401
    import agents.incidents.agent  # noqa: F401
    import agents.notify.agent  # noqa: F401
    from prometheus_client import REGISTRY, generate_latest

    exposition = generate_latest(REGISTRY)
    assert b"logwarden_incidents_open" in exposition
    done = _promtool("check", "metrics", stdin=exposition)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
