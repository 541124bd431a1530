"""A short chaos run on Apache Kafka (issue #18): workers SIGKILLed while lines flow and
an outbreak is under way, and still every line is counted once and every outbreak opens
one incident.

The benchmark's own functions (ops/bench/chaos.py) on a short plan: two workers with
every stage, Slack, Jira and PagerDuty fakes as channels, three services in real time,
two outbreaks (a fatal one and an error one), three kill cycles, then the traffic stops
at a minute's end and the tally compares `signals.windows` with `logs.raw`.
"""

from __future__ import annotations

import random
import time

import pytest

from ops.bench.chaos import ChaosLog, Cluster, Generator, Outbreak, drain_and_tally, kill_cycles

pytestmark = pytest.mark.broker

SERVICES = ["payments", "orders", "search"]


def test_workers_killed_under_load_lose_no_line_and_double_no_incident(tmp_path):
    with Cluster(tmp_path, workers_n=2) as cluster:
        start = time.time() + 5
        outbreaks = [Outbreak("payments", "fatal", start, minutes=1), Outbreak("orders", "error", start, minutes=1)]
        generator = Generator(cluster.bootstrap, SERVICES, outbreaks).start()
        log = ChaosLog()
        kill_cycles(cluster, 3, random.Random(18), log, generator, interval=(10.0, 20.0))
        result = drain_and_tally(cluster, generator, outbreaks, log, settle_s=0)

    overall, lines = result["overall"], result["overall"]["lines"]
    assert log.kills == 3 and log.restart_failures == []
    # Every line stored in logs.raw is counted in exactly one window, in its own minute.
    assert lines["lines_produced"] > 0 and lines["errors_produced"] > 0
    assert lines["mismatches"] == []
    assert (lines["lines_counted"], lines["errors_counted"]) == (lines["lines_produced"], lines["errors_produced"])
    # One incident per outbreak, none without an outbreak behind it.
    assert [(r["service"], r["opened"]) for r in result["outbreaks"]] == [("payments", 1), ("orders", 1)]
    assert overall["unplanned_incidents"] == []
    assert overall["jira_duplicates"] == 0 and overall["slack_orphan_posts"] == 0
    assert overall["partitions_left_behind"] == []
