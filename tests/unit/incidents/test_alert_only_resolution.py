"""An incident made only of external alerts (a service that ships no logs, so no window
summaries ever arrive) resolves when its source says resolved; one that also has log
findings still waits for clean windows."""

from __future__ import annotations

from agents.incidents.config import IncidentsConfig
from agents.incidents.effects import Publish
from agents.incidents.lifecycle import apply, event_time
from schemas.records import Alert, Finding, IncidentEvent, WindowSummary

T0 = 1772445600.0  # 2026-03-02T10:00:00Z
CFG = IncidentsConfig()


def _alert(fingerprint: str, status: str, at: float) -> Alert:
    return Alert(id=f"alertmanager|{fingerprint}|{status}|{T0:.0f}", source="alertmanager", fingerprint=fingerprint,
                 name="InstanceDown", status=status, severity="critical", service="node",
                 labels={"job": "node", "alertname": "InstanceDown"}, starts_at=T0, received_at=at)


def _types(effects) -> list[str]:
    return [e.record.type for e in effects if isinstance(e, Publish) and isinstance(e.record, IncidentEvent)]


def _feed(state, event):
    return apply(state, event, event_time(event), CFG)


def test_alert_only_incident_resolves_when_every_alert_is_resolved():
    state, effects = _feed(None, _alert("f404ecabc8dd5cd7", "firing", T0 + 5))
    state, effects2 = _feed(state, _alert("f8f08d4e32c61a9d", "firing", T0 + 6))
    assert "opened" in _types(effects) and "opened" not in _types(effects2)
    state, effects = _feed(state, _alert("f404ecabc8dd5cd7", "resolved", T0 + 120))
    assert "resolved" not in _types(effects)  # the other alert still fires
    state, effects = _feed(state, _alert("f8f08d4e32c61a9d", "resolved", T0 + 180))
    assert _types(effects) == ["resolved"]
    assert state.incident.status == "resolved" and state.incident.resolved_at == T0 + 180


def test_alert_with_log_errors_still_waits_for_clean_windows():
    log = Finding(fingerprint="fp1:node-disk", service="node", endpoint="", error_type="OSError",
                  template="OSError: <*>", level="error", count=5)
    state, _ = _feed(None, _alert("f404ecabc8dd5cd7", "firing", T0 + 5))
    state, _ = _feed(state, WindowSummary(id="node|w1", service="node", window_start=T0, window_end=T0 + 60,
                                          status="errors", lines=20, errors=5, findings=[log]))
    state, effects = _feed(state, _alert("f404ecabc8dd5cd7", "resolved", T0 + 90))
    assert "resolved" not in _types(effects)
    for minute in range(1, 6):
        start = T0 + minute * 60
        state, effects = _feed(state, WindowSummary(id=f"node|c{minute}", service="node", window_start=start,
                                                    window_end=start + 60, status="clean", lines=20))
    assert "resolved" in _types(effects) and state.incident.resolved_at == T0 + 360
