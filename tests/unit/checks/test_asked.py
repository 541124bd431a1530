"""A probe the AI asked for by name: run once, from the configuration, never from the request."""

from __future__ import annotations

import sys

from agents.checks.asks import KEPT, first_ask
from agents.checks.config import ChecksConfig
from agents.checks.runner import CheckRunner
from schemas.records import ProbeRequest

PY = sys.executable
NOW = 1_790_000_000.0


def _request(probe: str, incident: str = "payments-20260921T1413Z-1", rid: str = "req-1") -> ProbeRequest:
    return ProbeRequest(id=f"{rid}|{probe}", trace_id="7f" * 16, service="payments", incident_id=incident,
                        probe=probe, requested_by="ai:anthropic", at=NOW)


def _runner(tmp_path) -> CheckRunner:
    cfg = ChecksConfig(service="payments", host="web-1", probes=[
        {"name": "queue_depth", "command": [PY, "-c", "print(1204)"], "unit": "jobs", "critical_threshold": 1000,
         "for": ["dependency"]},
        {"name": "marker", "command": [PY, "-c", f"open({str(tmp_path / 'ran')!r}, 'w')"]}])
    return CheckRunner(cfg, reader=object())


async def test_the_configured_probe_runs_and_says_who_asked(tmp_path):
    runner = _runner(tmp_path)
    result = await runner.asked(_request("queue_depth"), NOW)
    await runner.close()
    assert (result.check, result.kind, result.service, result.host) == ("probe:queue_depth", "probe", "payments", "web-1")
    assert result.metrics == {"queue_depth": 1204.0} and result.status == "fail"  # 1204 >= critical 1000
    assert result.message == ("probe queue_depth: queue_depth 1204 jobs (at or above 1000 jobs) "
                              "(asked by the model during payments-20260921T1413Z-1)")
    assert result.id == "asked|req-1|queue_depth" and result.trace_id == "7f" * 16


async def test_a_name_that_is_not_configured_runs_nothing(tmp_path):
    runner = _runner(tmp_path)
    for asked in ("marker; true", "marker --all", f"{PY} -c 1", "queue_depht"):
        result = await runner.asked(_request(asked), NOW)
        assert result.status == "unknown" and "is not configured on web-1: not run" in result.message, asked
    await runner.close()
    assert not (tmp_path / "ran").exists()


def test_each_probe_runs_once_per_incident():
    done = first_ask(None, _request("queue_depth"))
    assert done == ["payments-20260921T1413Z-1|queue_depth"]
    assert first_ask(done, _request("queue_depth", rid="req-2")) is None  # another finding, same incident
    assert first_ask(done, _request("queue_depth", incident="payments-20260921T1500Z-2")) is not None
    many = None
    for i in range(KEPT + 5):
        many = first_ask(many, _request("queue_depth", incident=f"i{i}"))
    assert len(many) == KEPT and many[-1] == f"i{KEPT + 4}|queue_depth"


class _Stage:
    """What the checks stage declares, collected: its timer, its table, its consumer."""

    def __init__(self):
        self.tables, self.consumers = {}, {}

    def every(self, interval_s, produce, *, name):  # noqa: ANN001
        pass

    def on_stop(self, close):  # noqa: ANN001
        self.close = close

    def table(self, name: str) -> dict:
        return self.tables.setdefault(name, {})

    def consume(self, inputs, handle, *, agent, invalid_reason):  # noqa: ANN001
        self.consumers[agent] = (inputs, handle)


async def test_the_stage_runs_an_asked_probe_once_and_publishes_its_result(tmp_path):
    from types import SimpleNamespace

    from agents.checks.agent import register
    from schemas.effects import Publish, Store

    stage = _Stage()
    register(stage, SimpleNamespace(checks=_runner(tmp_path).cfg))
    inputs, handle = stage.consumers["checks-asked"]
    assert set(inputs) == {"checks.requests"}
    effects = await handle(_request("queue_depth"), None)
    publish, store = effects
    assert isinstance(publish, Publish) and publish.topic == "checks.results" and publish.key == "payments"
    assert publish.record.metrics == {"queue_depth": 1204.0}
    assert isinstance(store, Store)
    stage.tables[store.table][store.key] = store.value
    assert await handle(_request("queue_depth", rid="req-2"), None) == []  # the same incident asked again
    await stage.close()
