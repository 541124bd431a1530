"""Zabbix webhook media type -> alert drafts.

Zabbix has no fixed webhook body: it posts the media type's parameters. Three common
layouts are read: `hostname/trigger/status/severity` (PROBLEM/OK), Grafana OnCall's
`alert_uid/title/state`, and Zabbix's own macros `event_value/trigger_id/event_name`.
Must never key an alert by the event id alone: PROBLEM and OK are different events of
one trigger, so the trigger id (or the link's `triggerid`) is the identity.
"""

from __future__ import annotations

import re
from typing import Any

from agents.gateway.drivers.base import Driver, NoAlertState, ShapeError, as_dict, first_text
from agents.gateway.normalise import AlertDraft, to_epoch

__all__ = ["DRIVER"]

_TRIGGER_ID = re.compile(r"[?&]triggerid=(\d+)")
_STATUS = {"problem": "firing", "alerting": "firing", "1": "firing", "ok": "resolved",
           "resolved": "resolved", "0": "resolved"}


def _detect(payload: Any) -> bool:
    p = as_dict(payload)
    return (("trigger" in p and "status" in p and ("hostname" in p or "host" in p))
            or ("alert_uid" in p and "link_to_upstream_details" in p)
            or ("event_value" in p and ("trigger_id" in p or "event_id" in p)))


def _parse(payload: Any) -> list[AlertDraft]:
    p = as_dict(payload)
    if not _detect(p):
        raise ShapeError("expected Zabbix media type parameters (`trigger`+`status`, "
                         "`alert_uid`+`state`, or `event_value`+`trigger_id`)")
    state = first_text(p.get("status"), p.get("state"), p.get("event_value")).lower()
    status = _STATUS.get(state)
    if status is None:
        raise NoAlertState(f"Zabbix status {state[:20]!r} opens or resolves nothing")
    host = first_text(p.get("hostname"), p.get("host"), p.get("host_name"))
    link = first_text(p.get("link"), p.get("link_to_upstream_details"), p.get("event_url"))
    trigger = _TRIGGER_ID.search(link)
    native = first_text(p.get("trigger_id"), trigger.group(1) if trigger else "", p.get("alert_uid"))
    name = first_text(p.get("trigger"), p.get("trigger_name"), p.get("event_name"), p.get("title"),
                      "Zabbix problem")
    at = to_epoch(first_text(p.get("event_time"), p.get("timestamp")))
    return [AlertDraft(
        native_id=f"trigger:{native}" if native else f"host:{host}|{name}",
        name=name,
        status=status,  # type: ignore[arg-type]
        severity=first_text(p.get("severity"), p.get("event_severity"), p.get("trigger_severity")),
        labels={k: v for k, v in {"host": host, "item": first_text(p.get("item"))}.items() if v},
        annotations={"link": link} if link else {},
        starts_at=at if status == "firing" else None,
        ends_at=at if status == "resolved" else None,
        description=first_text(p.get("message"), p.get("event_message"), p.get("item")),
        raw=p,
    )]


DRIVER = Driver(name="zabbix", detect=_detect, parse=_parse)
