"""Fixtures of the AI layer tests: the two HTTP fakes, configs, request builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.ai.config import AIConfig
from schemas.ai_tasks import ClassifyInput
from schemas.records import AIRequest, Finding
from tests.unit.ai.fakes import FakeServer

ROOT = Path(__file__).resolve().parents[3]
RUNBOOKS_INDEX = ROOT / "ops" / "runbooks" / "index.toml"
DATA = ROOT / "tests" / "data" / "ai"


@pytest.fixture
async def fake_server():
    server = FakeServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def anthropic_cfg(fake_server: FakeServer) -> AIConfig:
    return AIConfig(provider="anthropic", model="claude-sonnet-4-6", base_url=fake_server.base_url,
                    api_key="sk-ant-api03-TESTKEYtestkeyTESTKEY0123456789", timeout_s=5,
                    runbooks_index=RUNBOOKS_INDEX)


@pytest.fixture
def openai_cfg(fake_server: FakeServer) -> AIConfig:
    return AIConfig(provider="openai", model="gpt-4o-mini", base_url=fake_server.base_url + "/v1",
                    api_key="sk-proj-TESTKEYtestkeyTESTKEY0123456789ab", timeout_s=5,
                    runbooks_index=RUNBOOKS_INDEX)


def finding(**kw: Any) -> Finding:
    base: dict[str, Any] = dict(fingerprint="fp1:abc123", service="api", endpoint="GET /users/{id}",
                                error_type="HTTP 503", template="upstream returned <*> for <*>", level="error",
                                count=12, first_seen=1_700_000_000.0, last_seen=1_700_000_050.0,
                                samples=["GET /users/42 503 upstream users-db unavailable"])
    base.update(kw)
    return Finding(**base)


def classify_request(f: Finding | None = None, **kw: Any) -> AIRequest:
    f = f or finding()
    payload = ClassifyInput(service=f.service, finding=f, window_errors=kw.pop("window_errors", f.count),
                            window_lines=kw.pop("window_lines", 200), seen_before=kw.pop("seen_before", 0))
    return AIRequest(request_id=f"req-{f.fingerprint}", task="classify", service=f.service,
                     fingerprint=f.fingerprint, at=1_700_000_060.0, payload=payload.model_dump(mode="json"), **kw)


class FakeClock:
    def __init__(self, now: float = 1_700_000_100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
