"""Prometheus Alertmanager for real (Debian's `prometheus-alertmanager`) in front of a
worker whose Alertmanager webhook needs a bearer token (`gateway.auth.alertmanager`).

Alertmanager runs with its own config and storage on free ports, three webhook
receivers pointing at `/alerts/webhook/alertmanager`: the right token, a wrong one, and
none. Alerts are fired and resolved through Alertmanager's API v2 (`POST
/api/v2/alerts` with startsAt/endsAt), as Prometheus does. What a user would notice:
the alert sent with the right token opens an incident and its resolution resolves it;
the other two never reach the incident topic, and the worker's metrics count them as
refused (403 wrong token, 401 no token). The console notification of the incident is
written under the worker's data dir, not its working directory. Kafka is enough here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

from streams.brokers import free_port
from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, ensure_topics, read_json, wait_for

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(shutil.which("prometheus-alertmanager") is None,
                       reason="needs Debian's prometheus-alertmanager (.ci/run installs it)"),
]

TOKEN = "am-token-7f3c9d2e"
SERVICES = {"checkout": "right token", "search": "wrong token", "inventory": "no token"}



def alertmanager_config(hook: str) -> dict:
    def receiver(name: str, credentials: str | None) -> dict:
        webhook: dict = {"url": hook, "send_resolved": True}
        if credentials is not None:
            webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": credentials}}
        return {"name": name, "webhook_configs": [webhook]}

    return {
        "route": {
            "receiver": "right-token", "group_by": ["alertname", "service"],
            "group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h",
            "routes": [{"receiver": "wrong-token", "matchers": ['service="search"']},
                       {"receiver": "no-token", "matchers": ['service="inventory"']}],
        },
        "receivers": [receiver("right-token", TOKEN), receiver("wrong-token", "not-" + TOKEN),
                      receiver("no-token", None)],
    }


class Alertmanager:
    def __init__(self, tmp: Path, hook: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "alertmanager.yml"
        config.write_text(json.dumps(alertmanager_config(hook), indent=2))  # JSON is YAML
        self.log = tmp / "alertmanager.log"
        out = open(self.log, "wb")
        self.proc = subprocess.Popen(
            ["prometheus-alertmanager", f"--config.file={config}", f"--storage.path={tmp / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=info"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"alertmanager exited: {self.log.read_text()}"
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"alertmanager not ready: {self.log.read_text()}")

    def post_alerts(self, alerts: list[dict]) -> None:
        req = urllib.request.Request(self.url + "/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def alerts(started: float, ended: float | None = None) -> list[dict]:
    out = []
    for service in SERVICES:
        alert = {"labels": {"alertname": "HighErrorRate", "service": service, "severity": "critical"},
                 "annotations": {"summary": f"{service}: 5xx above 5% for 5 minutes"},
                 "startsAt": rfc3339(started), "generatorURL": "http://prometheus.test/graph"}
        if ended is not None:
            alert["endsAt"] = rfc3339(ended)
        out.append(alert)
    return out


def webhook_answers(worker: WorkerProcess) -> dict[str, float]:
    """The worker's count of Alertmanager webhook requests by HTTP status, and of refused
    ones by reason ("403", "auth_invalid", ...), from its /metrics."""
    with urllib.request.urlopen(worker.url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if 'endpoint="webhook"' not in line:
            continue
        if line.startswith("logwarden_gateway_rejected_total{"):
            label = re.search(r'reason="([^"]+)"', line).group(1)
        elif line.startswith("logwarden_gateway_requests_total{") and 'driver="alertmanager"' in line:
            label = re.search(r'status="([^"]+)"', line).group(1)
        else:
            continue
        counts[label] = float(line.rsplit(" ", 1)[1])
    return counts


def test_alertmanager_fires_and_resolves_through_bearer_auth(kafka, tmp_path):
    bootstrap = kafka.bootstrap
    ensure_topics(bootstrap)
    env = base_env(tmp_path, bootstrap, "e2e-alertmanager", LOGWARDEN_STAGES=NO_TICKS,
                   LOGWARDEN_GATEWAY__AUTH__ALERTMANAGER__SCHEME="bearer",
                   LOGWARDEN_GATEWAY__AUTH__ALERTMANAGER__TOKEN=TOKEN)
    worker = WorkerProcess(env, tmp_path / "run").start()
    manager = Alertmanager(tmp_path, worker.url + "/alerts/webhook/alertmanager")
    try:
        manager.wait_ready()
        started = time.time() - 30
        manager.post_alerts(alerts(started))
        events = wait_for(bootstrap, "incidents.events",
                          lambda evs: any(e["type"] == "opened" and e["service"] == "checkout" for e in evs),
                          worker=worker)
        deadline = time.monotonic() + 60
        while not {"auth_invalid", "auth_missing"} <= set(webhook_answers(worker)):
            assert time.monotonic() < deadline, f"{webhook_answers(worker)}\n{manager.log.read_text()}"
            time.sleep(0.5)

        manager.post_alerts(alerts(started, ended=time.time()))
        events = wait_for(bootstrap, "incidents.events",
                          lambda evs: any(e["type"] == "resolved" and e["service"] == "checkout" for e in evs),
                          worker=worker)
        notifications = tmp_path / "lw" / "notifications.jsonl"
        misplaced = worker.cwd / "notifications.jsonl"
        deadline = time.monotonic() + 60
        while not (notifications.exists() or misplaced.exists()):
            assert time.monotonic() < deadline, "the console channel wrote no notifications"
            time.sleep(0.5)
        answers = webhook_answers(worker)
    finally:
        manager.stop()
        worker.stop()

    # Only the right token got through: one incident, opened and resolved.
    assert {e["service"] for e in events} == {"checkout"}
    incident = {e["incident_id"] for e in events if e["type"] in ("opened", "resolved")}
    assert len(incident) == 1
    raw = read_json(bootstrap, "alerts.raw")
    assert {a["service"] for a in raw} == {"checkout"}
    assert {a["status"] for a in raw} == {"firing", "resolved"}
    # The right token's firing and resolved notifications were accepted; the other two were
    # refused every time Alertmanager tried (it retries while the alert fires): a wrong
    # token is 403, none 401.
    assert answers["202"] >= 2 and answers["403"] >= 1 and answers["401"] >= 1, answers
    assert answers["auth_invalid"] == answers["403"] and answers["auth_missing"] == answers["401"], answers
    # The console channel wrote the incident's notifications under the data dir, not
    # into the directory the worker was started from.
    assert not misplaced.exists(), "notifications.jsonl was written to the working directory"
    written = [json.loads(line) for line in notifications.read_text().splitlines()]
    notified = {n["service"] for n in written}
    assert "checkout" in notified and not notified & {"search", "inventory"}, notified
