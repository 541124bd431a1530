"""Clear 4xx answers for bad webhook requests, and the bounds on what is accepted."""

from __future__ import annotations

import gzip

import orjson

from agents.gateway.body import decode_body, lower_headers
from agents.gateway.config import GatewayConfig
from agents.gateway.normalise import alert_finding
from agents.gateway.outcomes import broker_unavailable
from agents.gateway.webhook import MAX_WEBHOOK_JSON_COST, handle_webhook
from tests.unit.gateway.conftest import JSON, NOW, payload

AM = "alertmanager/zulip_firing_2alerts.json"


def test_wrong_content_type_is_415(cfg):
    outcome = handle_webhook(None, {"Content-Type": "application/x-www-form-urlencoded"}, payload(AM), NOW, cfg)
    assert outcome.status == 415 and "application/json" in outcome.body["message"]


def test_malformed_json_is_400_with_position(cfg):
    outcome = handle_webhook(None, JSON, b'{"alerts": [1, 2,, 3]}', NOW, cfg)
    assert outcome.status == 400 and outcome.reason == "malformed_json"
    assert "column 18" in outcome.body["message"]


def test_unknown_shape_is_422_naming_the_drivers(cfg):
    outcome = handle_webhook(None, JSON, b'{"hello": "world"}', NOW, cfg)
    assert outcome.status == 422 and "alertmanager" in outcome.body["message"]


def test_unknown_driver_is_404(cfg):
    outcome = handle_webhook("nagios", JSON, payload(AM), NOW, cfg)
    assert outcome.status == 404 and "generic" in outcome.body["message"]


def test_a_gzip_body_is_decoded_once_then_read(cfg):
    headers = {**JSON, "Content-Encoding": "gzip"}
    data = decode_body(lower_headers(headers), gzip.compress(payload(AM)), cfg.max_body_bytes,
                       cfg.max_decompressed_bytes)
    outcome = handle_webhook(None, headers, data, NOW, cfg)
    assert outcome.status == 202 and len(outcome.alerts) == 2


def test_a_nul_or_control_character_in_a_service_label_is_400(cfg):
    # Found by fuzzing: an incident and a ticket were opened for "fuzz\x00svc".
    for service in ("fuzz\x00svc", "a\nb", "\x1b[31mred"):
        body = orjson.dumps({"name": "disk full", "labels": {"service": service}})
        outcome = handle_webhook("generic", JSON, body, NOW, cfg)
        assert (outcome.status, outcome.reason, outcome.alerts) == (400, "bad_service", [])
        assert "label 'service'" in outcome.body["message"] and service not in outcome.body["message"]


def test_a_webhook_too_costly_to_parse_is_413_before_parsing(cfg):
    body = b"[" + b"{}," * (MAX_WEBHOOK_JSON_COST // 2) + b"{}]"
    outcome = handle_webhook(None, JSON, body, NOW, cfg)
    assert (outcome.status, outcome.reason) == (413, "too_complex")


def test_too_many_alerts_is_413():
    cfg = GatewayConfig(max_alerts_per_request=1)
    outcome = handle_webhook(None, JSON, payload(AM), NOW, cfg)
    assert outcome.status == 413 and outcome.alerts == []


def test_raw_payload_is_bounded():
    cfg = GatewayConfig(raw_max_bytes=256)
    body = orjson.dumps({"name": "Disk full", "description": "x" * 5000})
    alert = handle_webhook("generic", JSON, body, NOW, cfg).alerts[0]
    assert alert.raw["_truncated"] is True and len(alert.raw["head"]) <= 256
    assert len(alert.description) <= 4000


def test_duplicate_alerts_in_one_payload_are_published_once(cfg):
    body = orjson.dumps({"alerts": [{"name": "db down", "fingerprint": "a"},
                                    {"name": "db down", "fingerprint": "a"},
                                    {"name": "db down", "fingerprint": "a", "status": "resolved"}]})
    outcome = handle_webhook(None, JSON, body, NOW, cfg)
    assert [a.status for a in outcome.alerts] == ["firing", "resolved"]


def test_service_mapping_and_severity_overrides():
    cfg = GatewayConfig(service_labels=["team"], service_aliases={"blue": "payments"},
                        severity_map={"warning": "critical"})
    alerts = handle_webhook(None, JSON, payload("grafana/grafana_docs_webhook_notifier_firing_2alerts.json"),
                            NOW, cfg).alerts
    assert {a.service for a in alerts} == {"payments"}
    generic = handle_webhook(None, JSON, b'{"name": "x", "severity": "warning"}', NOW, cfg).alerts[0]
    assert generic.severity == "critical"


def test_pagerduty_v2_messages_are_read(cfg):
    # Minimal v2 shape (PagerDuty's legacy webhook), written here: no real sample exists.
    body = orjson.dumps({"messages": [{"event": "incident.resolve", "created_on": "2020-01-01T00:00:10Z",
                                       "incident": {"id": "PX1", "title": "API down", "urgency": "low",
                                                    "created_on": "2020-01-01T00:00:00Z",
                                                    "service": {"name": "api"}}}]})
    alert = handle_webhook(None, JSON, body, NOW, cfg).alerts[0]
    assert (alert.source, alert.name, alert.status, alert.service, alert.severity) == (
        "pagerduty", "API down", "resolved", "api", "info")
    assert alert.ends_at == 1577836810.0


def test_alert_becomes_a_finding(cfg):
    alert = handle_webhook(None, JSON, payload("pagerduty/zulip_v3_incident_triggered.json"), NOW, cfg).alerts[0]
    finding = alert_finding(alert)
    assert (finding.kind, finding.fingerprint, finding.service, finding.status, finding.level) == (
        "alert", alert.fingerprint, "pig208", "firing", "critical")
    assert finding.first_seen == alert.starts_at


def test_broker_unavailable_is_503_with_retry_after(cfg):
    accepted = handle_webhook(None, JSON, payload(AM), NOW, cfg)
    failed = broker_unavailable(accepted, retry_after_s=7)
    assert failed.status == 503 and failed.headers["Retry-After"] == "7" and failed.alerts == []
