"""Every real payload in tests/data/webhooks normalises to the hand-written expectations."""

from __future__ import annotations

from datetime import datetime

import pytest

from agents.gateway.webhook import handle_webhook
from tests.unit.gateway.conftest import JSON, NOW, WEBHOOKS, load_expectations, payload

EXPECTED = load_expectations()
FILES = sorted(k for k in EXPECTED if k.endswith(".json"))


def _expected_time(spec: dict, field: str) -> float | None:
    if f"{field}_ms" in spec:
        return spec[f"{field}_ms"] / 1000.0
    text = spec[field]
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _check(outcome, spec: dict, source: str) -> None:
    assert outcome.status == spec["status"], outcome.body
    assert "message" in outcome.body or outcome.status == 202
    got = [(a.name, a.status, a.severity, a.service) for a in outcome.alerts]
    want = [(e["name"], e["status"], e["severity"], e["service"]) for e in spec["alerts"]]
    assert got == want
    for alert, e in zip(outcome.alerts, spec["alerts"]):
        assert alert.source == source
        for field in ("starts_at", "ends_at"):
            want_t = _expected_time(e, field)
            got_t = getattr(alert, field)
            assert (got_t is None) == (want_t is None), (field, got_t, want_t)
            if want_t is not None:
                assert got_t == pytest.approx(want_t, abs=1e-5), field
        assert alert.raw is not None and alert.received_at == NOW


def test_every_data_file_has_an_expectation():
    on_disk = sorted(str(p.relative_to(WEBHOOKS)) for p in WEBHOOKS.glob("*/*.json"))
    assert on_disk == FILES


@pytest.mark.parametrize("name", FILES)
def test_auto_detect(name, cfg):
    spec = EXPECTED[name]
    outcome = handle_webhook(None, JSON, payload(name), NOW, cfg)
    assert outcome.driver == (spec["driver"] or "")
    _check(outcome, spec, spec["driver"])


@pytest.mark.parametrize("name", FILES)
def test_forced_driver(name, cfg):
    spec = EXPECTED[name]
    forced = spec.get("forced", spec["driver"])
    outcome = handle_webhook(forced, JSON, payload(name), NOW, cfg)
    assert outcome.driver == forced
    _check(outcome, spec, forced)


@pytest.mark.parametrize("pair", EXPECTED["same_alert_pairs"], ids=lambda p: p[0])
def test_firing_and_resolved_share_a_fingerprint(pair, cfg):
    firing, resolved = (handle_webhook(None, JSON, payload(n), NOW, cfg).alerts[0] for n in pair)
    assert (firing.status, resolved.status) == ("firing", "resolved")
    assert firing.fingerprint == resolved.fingerprint
    assert firing.id != resolved.id


def test_ids_are_deterministic_and_distinct(cfg):
    body = payload("alertmanager/zulip_firing_2alerts.json")
    first = handle_webhook(None, JSON, body, NOW, cfg)
    again = handle_webhook(None, JSON, body, NOW + 60, cfg)
    assert [a.id for a in first.alerts] == [a.id for a in again.alerts]
    assert len({a.id for a in first.alerts}) == 2
    assert first.body["ids"] == [a.id for a in first.alerts]


def test_unrelated_drivers_refuse_each_others_payloads(cfg):
    # Forcing the wrong driver must be a 422 with a message, not a misread alert.
    outcome = handle_webhook("opsgenie", JSON, payload("alertmanager/zulip_firing_2alerts.json"), NOW, cfg)
    assert outcome.status == 422 and "opsgenie" in outcome.body["message"]
    outcome = handle_webhook("zabbix", JSON, payload("pagerduty/zulip_v3_incident_triggered.json"), NOW, cfg)
    assert outcome.status == 422
