"""Fixtures of the notify tests: the vendor fakes, a fake clock whose sleep advances it,
real-log message bodies from tests/data/notify, and a notifier factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.notify.config import NotifyConfig
from agents.notify.notifier import Notifier
from schemas.records import OutboxMessage
from tests.unit.notify.fakes import Vendors

DATA = Path(__file__).resolve().parents[2] / "data" / "notify"
T0 = 1_728_200_527.0  # 2024-10-06 07:42:07 UTC, the time of the nginx capture


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def vendors() -> Vendors:
    return Vendors()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def nginx_log() -> str:
    return (DATA / "fixmystreet_docker_compose_nginx_502_excerpt.log").read_text()


@pytest.fixture
def java_trace() -> str:
    return (DATA / "nested_java_exc.log").read_text()


def message(kind: str = "alert", **kw: Any) -> OutboxMessage:
    base: dict[str, Any] = {
        "key": f"inc-checkout-1|{kind}|1", "kind": kind, "incident_id": "inc-checkout-1",
        "service": "checkout", "severity": "P2", "title": "upstream connect() failed (111: Connection refused)",
        "body": "nginx cannot reach the PHP upstream; every request answers 502.",
        "fields": {"since": str(T0), "occurrences": "42", "what": "connect() failed to upstream"},
        "links": {"ticket": "https://acme.atlassian.test/browse/OPS-1",
                  "incident": "https://logwarden.test/incidents/inc-checkout-1"},
        "at": T0,
    }
    base.update(kw)
    return OutboxMessage(**base)


@pytest.fixture
def make_notifier(vendors: Vendors, clock: FakeClock, tmp_path: Path):
    made: list[Notifier] = []

    def build(store: dict | None = None, rng=lambda: 0.5, **cfg: Any) -> Notifier:
        cfg.setdefault("console", {"path": str(tmp_path / "notifications.jsonl"), "print": False})
        notifier = Notifier(NotifyConfig.model_validate(cfg), store={} if store is None else store,
                            http_client=vendors.client(), sleep=clock.sleep, clock=clock, rng=rng)
        made.append(notifier)
        return notifier

    yield build
    for notifier in made:
        notifier._log_filter.uninstall()
