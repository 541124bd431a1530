"""Prometheus Alertmanager webhook (version 4) -> alert drafts.

Also the reader of the same alert list inside Grafana's unified-alerting payload.
Must never invent a fingerprint that changes between firing and resolved: Alertmanager's
own is used, or one derived from the sorted labels (which is how Alertmanager makes it).
"""

from __future__ import annotations

from typing import Any

import orjson

from agents.gateway.drivers.base import Driver, ShapeError, as_dict, first_text
from agents.gateway.normalise import AlertDraft, flat_labels, to_epoch

__all__ = ["DRIVER", "alert_list_drafts"]


def _detect(payload: Any) -> bool:
    p = as_dict(payload)
    return (isinstance(p.get("alerts"), list) and str(p.get("version", "")) == "4"
            and ("groupKey" in p or "receiver" in p))


def alert_list_drafts(payload: Any) -> list[AlertDraft]:
    """Drafts for an Alertmanager-shaped `{"alerts": [...], "commonLabels": ...}` payload."""
    p = as_dict(payload)
    alerts = p.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        raise ShapeError("expected an `alerts` list of objects (Alertmanager webhook format)")
    common_labels = flat_labels(as_dict(p.get("commonLabels")))
    common_annotations = flat_labels(as_dict(p.get("commonAnnotations")))
    group_status = first_text(p.get("status")).lower()
    drafts = []
    for alert in alerts:
        labels = flat_labels(as_dict(alert.get("labels"))) or dict(common_labels)
        annotations = {**common_annotations, **flat_labels(as_dict(alert.get("annotations")))}
        status = first_text(alert.get("status"), group_status).lower()
        if status not in ("firing", "resolved"):
            raise ShapeError(f"alert status must be firing or resolved, not {status[:20]!r}")
        native = first_text(alert.get("fingerprint")) or orjson.dumps(
            labels, option=orjson.OPT_SORT_KEYS).decode()
        drafts.append(AlertDraft(
            native_id=native,
            name=first_text(labels.get("alertname"), annotations.get("title"),
                            annotations.get("summary"), "alert"),
            status=status,
            severity=first_text(labels.get("severity"), labels.get("priority")),
            labels=labels,
            annotations=annotations,
            starts_at=to_epoch(alert.get("startsAt")),
            ends_at=to_epoch(alert.get("endsAt")) if status == "resolved" else None,
            description=first_text(annotations.get("description"), annotations.get("summary"),
                                   annotations.get("message")),
            raw=alert,
        ))
    return drafts


DRIVER = Driver(name="alertmanager", detect=_detect, parse=alert_list_drafts)
