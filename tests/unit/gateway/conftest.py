"""Fixtures for the gateway tests: the real webhook payloads and their expectations."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.gateway.config import GatewayConfig

WEBHOOKS = Path(__file__).resolve().parents[2] / "data" / "webhooks"
EXPECTATIONS = Path(__file__).resolve().parent / "webhook_expectations.yaml"
JSON = {"Content-Type": "application/json"}
NOW = 1_700_000_000.0


def load_expectations() -> dict:
    return yaml.safe_load(EXPECTATIONS.read_text(encoding="utf-8"))


def payload(name: str) -> bytes:
    return (WEBHOOKS / name).read_bytes()


@pytest.fixture
def cfg() -> GatewayConfig:
    return GatewayConfig()
