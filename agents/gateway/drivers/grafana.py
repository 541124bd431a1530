"""Grafana webhooks -> alert drafts: unified alerting (8+) and legacy dashboard alerts.

Unified alerting sends Alertmanager's alert list plus `orgId`, `state`, `title`; legacy
alerting sends one rule (`ruleName`, `state`, `evalMatches`). Must never treat a legacy
`pending` or `paused` state as an alert: they open nothing.
"""

from __future__ import annotations

from typing import Any

from agents.gateway.drivers.alertmanager import alert_list_drafts
from agents.gateway.drivers.base import Driver, NoAlertState, ShapeError, as_dict, first_text
from agents.gateway.normalise import AlertDraft, flat_labels

__all__ = ["DRIVER"]

_LEGACY_STATES = {"alerting": "firing", "no_data": "firing", "ok": "resolved"}


def _is_unified(p: dict[str, Any]) -> bool:
    return isinstance(p.get("alerts"), list) and (
        "orgId" in p or (str(p.get("version", "")) == "1" and "state" in p))


def _is_legacy(p: dict[str, Any]) -> bool:
    return "ruleName" in p or ("evalMatches" in p and "state" in p)


def _detect(payload: Any) -> bool:
    p = as_dict(payload)
    return _is_unified(p) or _is_legacy(p)


def _parse(payload: Any) -> list[AlertDraft]:
    p = as_dict(payload)
    if isinstance(p.get("alerts"), list):
        return alert_list_drafts(p)
    if not _is_legacy(p):
        raise ShapeError("expected Grafana unified alerting (`alerts` list) or legacy (`ruleName`, `state`)")
    state = first_text(p.get("state")).lower()
    if state not in _LEGACY_STATES:
        raise NoAlertState(f"legacy Grafana state {state[:20]!r} opens or resolves nothing")
    labels = flat_labels(as_dict(p.get("tags")))
    native = ":".join(first_text(p.get(k), "-") for k in ("orgId", "dashboardId", "panelId", "ruleId"))
    return [AlertDraft(
        native_id=f"{native}:{first_text(p.get('ruleName'), p.get('title'))}",
        name=first_text(p.get("ruleName"), p.get("title"), "Grafana alert"),
        status=_LEGACY_STATES[state],
        severity=first_text(labels.get("severity"), "warning" if state == "no_data" else ""),
        labels=labels,
        annotations={k: first_text(p.get(k)) for k in ("title", "ruleUrl") if first_text(p.get(k))},
        description=first_text(p.get("message")),
        raw=p,
    )]


DRIVER = Driver(name="grafana", detect=_detect, parse=_parse)
