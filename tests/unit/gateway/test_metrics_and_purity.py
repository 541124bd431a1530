"""Gateway counters move as a Prometheus user expects; pure modules import no broker or web code."""

from __future__ import annotations

import ast
from pathlib import Path

from prometheus_client import REGISTRY

from agents.gateway.metrics import record_outcome
from agents.gateway.outcomes import broker_unavailable
from agents.gateway.webhook import handle_webhook
from tests.unit.gateway.conftest import JSON, NOW, payload

GATEWAY = Path(__file__).resolve().parents[3] / "agents" / "gateway"
SHELL_MODULES = {"agent.py", "web.py"}


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_bytes_and_rejections_are_counted(cfg):
    before = (_value("logwarden_gateway_requests_total", endpoint="webhook", driver="alertmanager", status="202"),
              _value("logwarden_gateway_rejected_total", endpoint="webhook", reason="malformed_json"),
              _value("logwarden_gateway_payload_bytes_total", endpoint="webhook"),
              _value("logwarden_gateway_rejected_total", endpoint="webhook", reason="broker_unavailable"))
    body = payload("alertmanager/zulip_firing_2alerts.json")
    accepted = handle_webhook(None, JSON, body, NOW, cfg)
    record_outcome(accepted)
    record_outcome(handle_webhook(None, JSON, b"{nope", NOW, cfg))
    record_outcome(broker_unavailable(accepted))
    after = (_value("logwarden_gateway_requests_total", endpoint="webhook", driver="alertmanager", status="202"),
             _value("logwarden_gateway_rejected_total", endpoint="webhook", reason="malformed_json"),
             _value("logwarden_gateway_payload_bytes_total", endpoint="webhook"),
             _value("logwarden_gateway_rejected_total", endpoint="webhook", reason="broker_unavailable"))
    assert after[0] - before[0] == 1
    assert after[1] - before[1] == 1
    assert after[2] - before[2] == 2 * len(body) + 5
    assert after[3] - before[3] == 1


def test_pure_modules_import_no_faust_kafka_or_http_client():
    forbidden = {"faust", "aiokafka", "httpx", "aiohttp", "requests"}
    for path in GATEWAY.rglob("*.py"):
        if path.name in SHELL_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & forbidden, path.name
