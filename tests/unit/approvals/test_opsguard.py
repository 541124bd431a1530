"""OpsGuard's `POST /ingest-alert`: its users switch without changing their apps."""

from __future__ import annotations

import json

import pytest

from agents.gateway.config import GatewayConfig
from agents.gateway.opsguard import opsguard_intake

JSON = {"Content-Type": "application/json"}


def intake(payload, headers=JSON, **cfg):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return opsguard_intake(headers, data, GatewayConfig(**cfg), now=1_800_000_000.0)


def test_opsguards_request_becomes_error_lines_of_its_server():
    outcome = intake({"serverName": "checkout", "errorLogs": "Error: DB timeout\n\n  at pool.js:12\n",
                      "severity": "high"})
    assert outcome.status == 202 and outcome.body["success"] is True and outcome.body["lines"] == 2
    assert [key for key, _ in outcome.records] == [b"checkout", b"checkout"]
    first = json.loads(outcome.records[0][1])
    assert first == {"service": "checkout", "level": "error", "message": "Error: DB timeout", "source": "opsguard"}


def test_a_list_of_log_strings_is_accepted():
    outcome = intake({"serverName": "api", "errorLogs": ["one failed", "two failed"]})
    assert [json.loads(v)["message"] for _, v in outcome.records] == ["one failed", "two failed"]


@pytest.mark.parametrize("payload,status,reason", [
    (b"{nope", 400, "malformed_json"),
    ([1, 2], 400, "bad_request"),
    ({"errorLogs": "x"}, 400, "bad_service"),
    ({"serverName": "bad\nname", "errorLogs": "x"}, 400, "bad_service"),
    ({"serverName": "api", "errorLogs": 42}, 400, "bad_error_logs"),
    ({"serverName": "api", "errorLogs": "  \n "}, 400, "no_lines"),
])
def test_bad_input_is_a_clear_4xx_and_nothing_to_publish(payload, status, reason):
    outcome = intake(payload)
    assert (outcome.status, outcome.body["error"]) == (status, reason)
    assert outcome.body["message"] and outcome.records == []


def test_limits_and_media_type():
    assert intake({"serverName": "a", "errorLogs": ["x"] * 3}, max_log_lines_per_request=2).status == 413
    assert intake({"serverName": "a", "errorLogs": "x"}, headers={"Content-Type": "text/html"}).status == 415
