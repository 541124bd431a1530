"""Opsgenie outgoing webhook -> alert drafts.

`Create` fires, `Close` and `Delete` resolve; other actions (acknowledge, note,
escalate, ...) change nothing Logwarden acts on. Must never key an alert by anything
but its `alias` (Opsgenie's own de-duplication key) or, lacking one, its `alertId`.
"""

from __future__ import annotations

from typing import Any

from agents.gateway.drivers.base import Driver, NoAlertState, ShapeError, as_dict, first_text
from agents.gateway.normalise import AlertDraft, flat_labels, to_epoch

__all__ = ["DRIVER"]

_STATUS = {"create": "firing", "close": "resolved", "delete": "resolved"}


def _detect(payload: Any) -> bool:
    p = as_dict(payload)
    return isinstance(p.get("action"), str) and isinstance(p.get("alert"), dict) and (
        "integrationId" in p or "integrationName" in p)


def _parse(payload: Any) -> list[AlertDraft]:
    p = as_dict(payload)
    alert = p.get("alert")
    action = first_text(p.get("action"))
    if not isinstance(alert, dict) or not action:
        raise ShapeError("expected an Opsgenie webhook with `action` and `alert`")
    status = _STATUS.get(action.lower())
    if status is None:
        raise NoAlertState(f"Opsgenie action {action[:40]!r} opens or resolves nothing")
    native = first_text(alert.get("alias"), alert.get("alertId"))
    if not native:
        raise ShapeError("Opsgenie alert without `alias` or `alertId`")
    labels = flat_labels(alert.get("tags") or [])
    if first_text(alert.get("entity")):
        labels.setdefault("entity", first_text(alert.get("entity")))
    priority = alert.get("priority")
    # Opsgenie sends the priority as a number (3 = P3) or as "P3".
    severity = f"p{priority}" if isinstance(priority, int) else first_text(priority)
    updated = to_epoch(alert.get("updatedAt"))
    return [AlertDraft(
        native_id=native,
        name=first_text(alert.get("message"), native),
        status=status,  # type: ignore[arg-type]
        severity=severity,
        labels=labels,
        annotations={k: first_text(alert.get(k)) for k in ("tinyId", "source", "description")
                     if first_text(alert.get(k))},
        starts_at=to_epoch(alert.get("createdAt")),
        ends_at=updated if status == "resolved" else None,
        description=first_text(alert.get("description"), alert.get("message")),
        raw=p,
    )]


DRIVER = Driver(name="opsgenie", detect=_detect, parse=_parse)
