"""The probe the model asked for, in the asking incident's timeline: its value, as a person reads it.

The results come from the checks stage's real runner (a probe printing 1204, unit jobs,
critical at 1000) and go through `deliveries`, as the stage publishes them.
"""

from __future__ import annotations

import sys

from agents.checks.asks import deliveries
from agents.checks.config import ChecksConfig
from agents.checks.runner import CheckRunner
from agents.incidents.config import IncidentsConfig
from agents.incidents.lifecycle import apply, event_time
from schemas.records import CheckResult, Finding, ProbeRequest, WindowSummary

T0 = 1772445600.0  # 2026-03-02T10:00:00Z
CFG = IncidentsConfig()
PY = sys.executable


def _open(service: str):
    finding = Finding(fingerprint="fp1:jobs-timeout", service=service, endpoint="POST /orders",
                      error_type="TimeoutError", template="TimeoutError: enqueue <*>", level="error", count=9)
    window = WindowSummary(id=f"{service}|{T0:.0f}|1", service=service, window_start=T0, window_end=T0 + 60,
                           status="errors", lines=50, errors=9, findings=[finding])
    state, _ = apply(None, window, event_time(window), CFG)
    assert state.incident is not None and state.incident.status == "open"
    return state


async def _asked(probe_service: str, asking_service: str, *, warning: float | None = None) -> list[CheckResult]:
    spec = {"name": "queue_depth", "command": [PY, "-c", "print(1204)"], "unit": "jobs",
            "critical_threshold": 5000}
    if warning is not None:
        spec["warning_threshold"] = warning
    runner = CheckRunner(ChecksConfig(service=probe_service, host="web-1", probes=[spec]), reader=object())
    request = ProbeRequest(id="ai-req-1|queue_depth", service=asking_service, incident_id=f"{asking_service}-1",
                           probe="queue_depth", requested_by="ai:anthropic", at=T0 + 90)
    try:
        return deliveries(request, await runner.asked(request, T0 + 90))
    finally:
        await runner.close()


def _lines(state) -> list[str]:
    return [entry["text"] for entry in state.incident.timeline]


def _asked_line(state) -> str:
    (line,) = [text for text in _lines(state) if text.startswith("asked the model's probe")]
    return line


async def test_the_asked_probes_value_and_band_join_the_incidents_timeline():
    state = _open("payments")
    (result,) = await _asked("payments", "payments", warning=1000)
    state, _ = apply(state, result, event_time(result), CFG)
    assert _asked_line(state) == ("asked the model's probe queue_depth: 1,204 jobs "
                                  "(warning at 1,000 jobs, critical at 5,000 jobs)")


async def test_a_probe_of_another_service_reaches_the_asking_incident_without_holding_it_open():
    state = _open("checkout")
    own, copy = await _asked("jobs", "checkout", warning=1000)
    assert (own.service, own.status) == ("jobs", "warn")  # the probe's own record, as every run of it
    assert (copy.service, copy.status) == ("checkout", "unknown")
    findings = dict(state.incident.findings)
    state, _ = apply(state, copy, event_time(copy), CFG)
    assert _asked_line(state) == ("asked the model's probe queue_depth: 1,204 jobs "
                                  "(warning at 1,000 jobs, critical at 5,000 jobs)")
    assert state.incident.findings.keys() == findings.keys() and not state.incident.firing


async def test_a_probe_that_could_not_run_says_why():
    state = _open("payments")
    request = ProbeRequest(id="ai-req-1|queue_deth", service="payments", incident_id="payments-1",
                           probe="queue_deth", at=T0 + 90)
    runner = CheckRunner(ChecksConfig(service="payments", host="web-1"), reader=object())
    result = await runner.asked(request, T0 + 90)
    await runner.close()
    state, _ = apply(state, result, event_time(result), CFG)
    assert _asked_line(state) == ("asked the model's probe queue_deth: no value (probe 'queue_deth' is not "
                                 "configured on web-1: not run (asked by the model during payments-1))")


async def test_a_scheduled_probe_run_adds_no_such_line():
    state = _open("payments")
    (result,) = await _asked("payments", "payments")
    scheduled = result.model_copy(update={"id": "payments|web-1|probe:queue_depth|1772445690.000"})
    before = len(_lines(state))
    state, _ = apply(state, scheduled, event_time(scheduled), CFG)
    assert not any(line.startswith("asked the model's probe") for line in _lines(state)[before:])
