"""The webhook gateway and HTTP log intake of a real worker, on both real brokers.

A real Alertmanager payload posted to the auto-detecting endpoint opens an incident for
its service and the same alerts resolved close it (the service ships no logs: the
source's word is all there is). Bad requests get their 4xx through the real HTTP
server with nothing written; a stopped broker gets a 503 with Retry-After, never a 202.
The stdlib logging handler's exceptions become findings of their service.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request

import pytest

from agents.gateway.loghandler import LogwardenHandler
from tests.conftest import DATA
from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, ensure_topics, read_json, wait_for

pytestmark = pytest.mark.broker

FIRING = DATA / "webhooks" / "alertmanager" / "grafana-oncall_example_firing_3alerts.json"
MAX_BODY = 64 * 1024


def request(url: str, body: bytes, content_type: str = "application/json",
            timeout: float = 30.0) -> tuple[int, dict, dict[str, str]]:
    """POST; (status, JSON body, lower-case headers), for 2xx and errors alike."""
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}"), {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), {k.lower(): v for k, v in err.headers.items()}


def resolved_payload(firing: dict) -> dict:
    """What Alertmanager sends when the same group resolves: same alerts, status and endsAt."""
    out = json.loads(json.dumps(firing))
    out["status"] = "resolved"
    for alert in out["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2023-06-12T08:39:38.326Z"
    return out


def gateway_env(tmp_path, bootstrap: str, app_id: str) -> dict[str, str]:
    return base_env(tmp_path, bootstrap, app_id, LOGWARDEN_STAGES=NO_TICKS,
                    LOGWARDEN_GATEWAY__MAX_BODY_BYTES=str(MAX_BODY))


def test_alertmanager_webhook_opens_and_resolves_and_bad_requests_are_refused(fresh_broker, tmp_path):
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    firing = json.loads(FIRING.read_text())
    worker = WorkerProcess(gateway_env(tmp_path, bootstrap, "e2e-gateway"), tmp_path / "run").start()
    try:
        hook = worker.url + "/alerts/webhook"
        refused = {
            "malformed": request(hook, b'{"receiver": "web.hook", "alerts": ['),
            "content_type": request(hook, FIRING.read_bytes(), content_type="text/csv"),
            "too_large": request(hook, b'{"pad": "' + b"x" * (MAX_BODY + 10) + b'"}'),
            "unknown_shape": request(hook, json.dumps({"hello": "world", "value": 3}).encode()),
        }
        assert {name: status for name, (status, _b, _h) in refused.items()} == {
            "malformed": 400, "content_type": 415, "too_large": 413, "unknown_shape": 422}
        assert all(body.get("message") for _s, body, _h in refused.values())

        status, body, _ = request(hook, FIRING.read_bytes())
        assert status == 202, body
        alerts = wait_for(bootstrap, "alerts.raw", lambda recs: len(recs) >= 2, worker=worker)
        assert sorted((a["source"], a["status"], a["severity"], a["service"]) for a in alerts) == [
            ("alertmanager", "firing", "critical", "node")] * 2
        # One finding per Alertmanager alert, stable from firing to resolved.
        fingerprints = {a["fingerprint"] for a in alerts}
        assert len(fingerprints) == 2
        events = wait_for(bootstrap, "incidents.events",
                          lambda evs: any(e["type"] == "opened" and e["service"] == "node" for e in evs),
                          worker=worker)
        incident_id = next(e["incident_id"] for e in events if e["type"] == "opened")

        status, body, _ = request(hook, json.dumps(resolved_payload(firing)).encode())
        assert status == 202, body
        events = wait_for(bootstrap, "incidents.events",
                          lambda evs: any(e["type"] == "resolved" and e["service"] == "node" for e in evs),
                          worker=worker)
    finally:
        worker.stop()
    assert {e["incident_id"] for e in events if e["type"] in ("opened", "resolved")} == {incident_id}
    # Nothing from the refused requests was written: only the two alerts, firing then resolved.
    alerts = read_json(bootstrap, "alerts.raw")
    assert sorted((a["status"], a["fingerprint"]) for a in alerts) == sorted(
        [("firing", fp) for fp in fingerprints] + [("resolved", fp) for fp in fingerprints])


def test_python_logging_handler_exceptions_become_findings(fresh_broker, tmp_path):
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    worker = WorkerProcess(gateway_env(tmp_path, bootstrap, "e2e-loghandler"), tmp_path / "run").start()
    logger = logging.getLogger("billing.invoices.e2e")
    logger.propagate = False
    handler = LogwardenHandler(worker.url + "/logs", service="billing", flush_interval_s=0.2)
    logger.addHandler(handler)
    try:
        for invoice in (4711, 4712, 4713):
            try:
                {"4711": 1}[str(invoice + 1000)]
            except KeyError:
                logger.exception("invoice %s could not be priced", invoice)
        handler.flush()
        deadline = time.monotonic() + 30
        while handler.sent < 3:
            assert time.monotonic() < deadline, f"handler sent {handler.sent}, dropped {handler.dropped}"
            time.sleep(0.1)
        # Ticks are off: a later line of the same service moves event time past the window.
        # It is a warning because only lines the extractor parses carry their own
        # timestamp; a plain info line is placed by its broker time (agents/extract).
        later = json.dumps({"ts": time.time() + 120, "level": "warning", "service": "billing",
                            "message": "WARNING: invoice run finished with retries"}).encode()
        status, body, _ = request(worker.url + "/logs", later, content_type="application/x-ndjson")
        assert status == 202 and body["lines"] == 1
        windows = wait_for(bootstrap, "signals.windows",
                           lambda ws: any(w["service"] == "billing" and w["errors"] for w in ws), worker=worker)
    finally:
        logger.removeHandler(handler)
        handler.close()
        worker.stop()
    (window,) = [w for w in windows if w["service"] == "billing" and w["errors"]]
    assert window["errors"] == 3
    (finding,) = window["findings"]
    assert finding["error_type"].endswith("KeyError") and finding["count"] == 3


def test_webhook_answers_503_with_retry_after_when_the_broker_is_gone(fresh_broker, tmp_path):
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    worker = WorkerProcess(gateway_env(tmp_path, bootstrap, "e2e-gateway-503"), tmp_path / "run").start()
    try:
        fresh_broker.stop()
        started = time.monotonic()
        status, body, headers = request(worker.url + "/alerts/webhook", FIRING.read_bytes())
        assert status == 503, body
        assert body["error"] == "broker_unavailable" and int(headers["retry-after"]) > 0
        assert time.monotonic() - started < 25, "the sender waited too long for its answer"
    finally:
        # With its broker gone the worker cannot leave its group; SIGTERM would only wait.
        worker.kill()
