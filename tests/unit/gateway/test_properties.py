"""Whatever arrives, the webhook and log intake answer with a status and a message, never raise."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.gateway.body import decode_body, lower_headers
from agents.gateway.config import GatewayConfig
from agents.gateway.intake import parse_log_intake
from agents.gateway.outcomes import LogIntakeOutcome, Rejection
from agents.gateway.webhook import handle_webhook
from tests.unit.gateway.conftest import NOW, WEBHOOKS

CFG = GatewayConfig(max_body_bytes=4096, max_decompressed_bytes=8192)
REAL = [p.read_bytes() for p in sorted(WEBHOOKS.glob("*/*.json"))]
DRIVER_NAMES = st.sampled_from([None, "alertmanager", "grafana", "pagerduty", "datadog", "newrelic",
                                "opsgenie", "zabbix", "generic", "nope"])
CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", "", "application/xml",
                                 "multipart/form-data", "application/json; charset=utf-8", "image/png"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["alerts", "status", "name", "title", "labels", "event", "action", "alert",
                         "state", "version", "receiver", "startsAt", "current_state", "messages",
                         "data", "event_type", "trigger", "hostname", "orgId", "ruleName", "x"]),
        children, max_size=6),
    max_leaves=25)


def _assert_answer(outcome) -> None:
    assert 200 <= outcome.status < 500
    if outcome.status >= 400:
        assert outcome.body["message"] and outcome.body["error"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300), driver=DRIVER_NAMES, ctype=CONTENT_TYPES)
def test_random_bytes(body, driver, ctype):
    _assert_answer(handle_webhook(driver, {"Content-Type": ctype}, body, NOW, CFG))


@settings(max_examples=300, deadline=None)
@given(value=json_values, driver=DRIVER_NAMES)
def test_random_json_shapes(value, driver):
    body = json.dumps(value).encode()  # stdlib: also writes integers past 64 bits
    _assert_answer(handle_webhook(driver, {"Content-Type": "application/json"}, body, NOW, CFG))


@settings(max_examples=200, deadline=None)
@given(index=st.integers(0, len(REAL) - 1), cut=st.floats(0, 1), driver=DRIVER_NAMES)
def test_truncated_real_payloads(index, cut, driver):
    body = REAL[index][: int(len(REAL[index]) * cut)]
    outcome = handle_webhook(driver, {"Content-Type": "application/json"}, body, NOW, GatewayConfig())
    _assert_answer(outcome)
    if cut < 0.5 and body.strip():
        assert outcome.status == (404 if driver == "nope" else 400)  # cut JSON never parses


def _logs_answer(headers: dict[str, str], body: bytes) -> LogIntakeOutcome:
    """What the worker answers: the body decoded with its limits, then the intake."""
    try:
        data = decode_body(lower_headers(headers), body, CFG.max_body_bytes, CFG.max_decompressed_bytes)
    except Rejection as rejection:
        return LogIntakeOutcome.refused(rejection, len(body))
    return parse_log_intake(headers, data, CFG, now=NOW)


@pytest.mark.parametrize("size", [4097, 10 * 1024 * 1024])
def test_huge_bodies_are_413(size):
    outcome = _logs_answer({"Content-Type": "application/json"}, b"[" * size)
    assert (outcome.status, outcome.reason) == (413, "too_large")


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), ctype=CONTENT_TYPES, encoding=st.sampled_from(["", "gzip", "br", "deflate"]))
def test_log_intake_random_bytes(body, ctype, encoding):
    outcome = _logs_answer({"Content-Type": ctype, "Content-Encoding": encoding}, body)
    _assert_answer(outcome)
    assert (outcome.status == 202) == bool(outcome.records)
