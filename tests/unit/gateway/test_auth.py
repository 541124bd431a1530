"""Bearer and HMAC per source, constant-time, with replayed and tampered requests refused."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from agents.gateway.auth import sign
from agents.gateway.config import GatewayConfig, SourceAuth
from agents.gateway.webhook import handle_webhook
from tests.unit.gateway.conftest import JSON, NOW, payload

SECRET = "s3cr3t-key-for-tests"
TOKEN = "tok-0123456789abcdef"
GRAFANA = payload("grafana/zulip_grafana11_unified_firing_values.json")
PD = payload("pagerduty/zulip_v3_incident_triggered.json")
PD_AT = 1622813729.781  # its event.occurred_at


def _cfg(source: str, **auth) -> GatewayConfig:
    return GatewayConfig(auth={source: SourceAuth(**auth)})


def _no_secret_in(outcome) -> None:
    text = orjson.dumps(outcome.body).decode() + str(outcome.headers)
    assert SECRET not in text and TOKEN not in text


class TestBearer:
    cfg = _cfg("alertmanager", scheme="bearer", token=TOKEN)
    body = payload("alertmanager/zulip_firing_2alerts.json")

    def test_missing_is_401_with_challenge(self):
        outcome = handle_webhook("alertmanager", JSON, self.body, NOW, self.cfg)
        assert outcome.status == 401 and "Bearer" in outcome.headers["WWW-Authenticate"]

    def test_wrong_is_403(self):
        outcome = handle_webhook("alertmanager", {**JSON, "Authorization": f"Bearer {TOKEN}x"}, self.body, NOW, self.cfg)
        assert outcome.status == 403
        _no_secret_in(outcome)

    def test_right_is_accepted_and_header_case_does_not_matter(self):
        outcome = handle_webhook("alertmanager", {**JSON, "authorization": f"Bearer {TOKEN}"}, self.body, NOW, self.cfg)
        assert outcome.status == 202 and len(outcome.alerts) == 2

    def test_auto_detected_source_is_protected_too(self):
        assert handle_webhook(None, JSON, self.body, NOW, self.cfg).status == 401

    def test_default_policy_covers_sources_without_their_own(self):
        cfg = _cfg("default", scheme="bearer", token=TOKEN)
        assert handle_webhook("zabbix", JSON, payload("zabbix/zulip_zabbix_ok.json"), NOW, cfg).status == 401


class TestGrafanaHmac:
    def test_body_signature_without_timestamp(self):
        cfg = _cfg("grafana", scheme="hmac", secrets=[SECRET])
        headers = {**JSON, "X-Grafana-Alerting-Signature": sign(SECRET, GRAFANA)}
        assert handle_webhook("grafana", headers, GRAFANA, NOW, cfg).status == 202

    def test_tampered_body_is_403(self):
        cfg = _cfg("grafana", scheme="hmac", secrets=[SECRET])
        headers = {**JSON, "X-Grafana-Alerting-Signature": sign(SECRET, GRAFANA)}
        tampered = GRAFANA.replace(b'"firing"', b'"resolved"', 1)
        outcome = handle_webhook("grafana", headers, tampered, NOW, cfg)
        assert outcome.status == 403 and outcome.alerts == []
        _no_secret_in(outcome)

    def test_missing_signature_is_401(self):
        cfg = _cfg("grafana", scheme="hmac", secrets=[SECRET])
        assert handle_webhook("grafana", JSON, GRAFANA, NOW, cfg).status == 401

    @pytest.mark.parametrize("age, status", [(10, 202), (299, 202), (301, 403), (-400, 403)])
    def test_timestamp_window(self, age, status):
        cfg = _cfg("grafana", scheme="hmac", secrets=[SECRET], timestamp_header="X-Grafana-Alerting-Signature-Timestamp")
        ts = str(int(NOW - age))
        headers = {**JSON, "X-Grafana-Alerting-Signature": sign(SECRET, GRAFANA, ts),
                   "X-Grafana-Alerting-Signature-Timestamp": ts}
        assert handle_webhook(None, headers, GRAFANA, NOW, cfg).status == status

    def test_replay_with_a_fresh_timestamp_but_old_signature_is_403(self):
        cfg = _cfg("grafana", scheme="hmac", secrets=[SECRET], timestamp_header="X-Ts")
        old = str(int(NOW - 3600))
        headers = {**JSON, "X-Grafana-Alerting-Signature": sign(SECRET, GRAFANA, old), "X-Ts": str(int(NOW))}
        assert handle_webhook("grafana", headers, GRAFANA, NOW, cfg).status == 403


class TestPagerDutyV3:
    cfg = _cfg("pagerduty", scheme="hmac", secrets=["old-secret", SECRET])

    def test_v1_signature_among_several(self):
        headers = {**JSON, "X-PagerDuty-Signature": f"v1={'0' * 64}, v1={sign(SECRET, PD)}"}
        outcome = handle_webhook("pagerduty", headers, PD, PD_AT + 5, self.cfg)
        assert outcome.status == 202 and outcome.alerts[0].name == "Test Incident 3"

    def test_signature_without_v1_prefix_is_403(self):
        headers = {**JSON, "X-PagerDuty-Signature": sign(SECRET, PD)}
        assert handle_webhook("pagerduty", headers, PD, PD_AT, self.cfg).status == 403

    def test_replayed_event_is_403(self):
        headers = {**JSON, "X-PagerDuty-Signature": f"v1={sign(SECRET, PD)}"}
        outcome = handle_webhook(None, headers, PD, PD_AT + 3600, self.cfg)
        assert outcome.status == 403 and outcome.reason == "auth_stale"

    def test_tampered_is_403(self):
        headers = {**JSON, "X-PagerDuty-Signature": f"v1={sign(SECRET, PD)}"}
        tampered = PD.replace(b"Test Incident 3", b"Test Incident 4")
        assert handle_webhook("pagerduty", headers, tampered, PD_AT, self.cfg).status == 403


class TestGenericHmac:
    cfg = _cfg("generic", scheme="hmac", secrets=[SECRET])
    body = b'{"name": "queue backlog", "service": "billing"}'

    def test_signed_with_timestamp(self):
        ts = str(int(NOW))
        headers = {**JSON, "X-Logwarden-Timestamp": ts, "X-Logwarden-Signature": "sha256=" + sign(SECRET, self.body, ts)}
        outcome = handle_webhook("generic", headers, self.body, NOW, self.cfg)
        assert outcome.status == 202 and outcome.alerts[0].service == "billing"

    def test_missing_timestamp_is_401(self):
        headers = {**JSON, "X-Logwarden-Signature": "sha256=" + sign(SECRET, self.body)}
        assert handle_webhook("generic", headers, self.body, NOW, self.cfg).status == 401

    def test_replayed_is_403(self):
        ts = str(int(NOW - 1000))
        headers = {**JSON, "X-Logwarden-Timestamp": ts, "X-Logwarden-Signature": "sha256=" + sign(SECRET, self.body, ts)}
        assert handle_webhook("generic", headers, self.body, NOW, self.cfg).status == 403


def test_config_refuses_a_scheme_without_its_secret_and_never_echoes_values():
    with pytest.raises(ValidationError) as err:
        SourceAuth(scheme="hmac", secrets=[])
    assert "secrets" in str(err.value)
    policy = SourceAuth(scheme="bearer", token=TOKEN)
    assert TOKEN not in repr(policy) and TOKEN not in policy.model_dump_json()
