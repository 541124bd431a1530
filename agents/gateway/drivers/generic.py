"""Logwarden's own simple format -> alert drafts, for tools with no driver of their own.

Either `{"alerts": [{...}, ...]}` or one alert object. An alert needs `name` (or
`title` / `alertname` / `labels.alertname`); everything else is optional:
`status` (firing|resolved, default firing), `severity`, `service`, `labels`,
`annotations`, `fingerprint`, `starts_at`/`startsAt`, `ends_at`/`endsAt`,
`description`. Tried last in auto-detection: it must never claim a payload that a
specific driver recognises.
"""

from __future__ import annotations

from typing import Any

import orjson

from agents.gateway.drivers.base import Driver, ShapeError, as_dict, first_text
from agents.gateway.normalise import AlertDraft, flat_labels, to_epoch

__all__ = ["DRIVER"]

_STATUS = {"firing": "firing", "alerting": "firing", "problem": "firing", "triggered": "firing",
           "open": "firing", "active": "firing", "resolved": "resolved", "ok": "resolved",
           "closed": "resolved", "recovered": "resolved"}


def _name(alert: dict[str, Any]) -> str:
    return first_text(alert.get("name"), alert.get("title"), alert.get("alertname"),
                      as_dict(alert.get("labels")).get("alertname"))


def _detect(payload: Any) -> bool:
    p = as_dict(payload)
    alerts = p.get("alerts")
    if isinstance(alerts, list):
        return bool(alerts) and all(isinstance(a, dict) and _name(a) for a in alerts)
    return bool(_name(p))


def _draft(alert: dict[str, Any], default_status: str) -> AlertDraft:
    name = _name(alert)
    if not name:
        raise ShapeError("each alert needs a `name` (or `title`)")
    state = first_text(alert.get("status"), alert.get("state"), default_status).lower()
    status = _STATUS.get(state)
    if status is None:
        raise ShapeError(f"alert status must be firing or resolved, not {state[:20]!r}")
    labels = flat_labels(alert.get("labels") or alert.get("tags") or {})
    if first_text(alert.get("service")):
        labels.setdefault("service", first_text(alert.get("service")))
    native = first_text(alert.get("fingerprint"), alert.get("id"), alert.get("alias")) or (
        name + "|" + orjson.dumps(labels, option=orjson.OPT_SORT_KEYS).decode())
    annotations = flat_labels(as_dict(alert.get("annotations")))
    return AlertDraft(
        native_id=native,
        name=name,
        status=status,  # type: ignore[arg-type]
        severity=first_text(alert.get("severity"), labels.get("severity"), alert.get("priority")),
        labels=labels,
        annotations=annotations,
        starts_at=to_epoch(alert.get("starts_at", alert.get("startsAt", alert.get("timestamp")))),
        ends_at=to_epoch(alert.get("ends_at", alert.get("endsAt"))) if status == "resolved" else None,
        description=first_text(alert.get("description"), alert.get("message"),
                               annotations.get("description"), annotations.get("summary")),
        raw=alert,
    )


def _parse(payload: Any) -> list[AlertDraft]:
    if isinstance(payload, dict) and isinstance(payload.get("alerts"), list):
        alerts = payload["alerts"]
        if not alerts or not all(isinstance(a, dict) for a in alerts):
            raise ShapeError("`alerts` must be a non-empty list of objects")
        group_status = first_text(payload.get("status"), "firing")
        return [_draft(a, group_status) for a in alerts]
    if isinstance(payload, dict):
        return [_draft(payload, "firing")]
    raise ShapeError("expected an alert object or `{\"alerts\": [...]}`")


DRIVER = Driver(name="generic", detect=_detect, parse=_parse)
