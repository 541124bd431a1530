"""PagerDuty webhooks -> alert drafts: v3 events and the older v2 `messages` payload.

An incident is firing until PagerDuty resolves it. Events about an incident that carry
no state of their own (a note, a responder added) open nothing. Must never let an
acknowledgement resolve anything: acknowledged incidents still fire.
"""

from __future__ import annotations

from typing import Any

from agents.gateway.drivers.base import (Driver, NoAlertState, ShapeError, as_dict, as_list,
                                         first_text)
from agents.gateway.normalise import AlertDraft, to_epoch

__all__ = ["DRIVER"]


def _detect(payload: Any) -> bool:
    p = as_dict(payload)
    event = as_dict(p.get("event"))
    if first_text(event.get("event_type")) and "data" in event:
        return True
    messages = as_list(p.get("messages"))
    return bool(messages) and first_text(as_dict(messages[0]).get("event")).startswith("incident.")


def _severity(incident: dict[str, Any]) -> str:
    priority = first_text(as_dict(incident.get("priority")).get("summary"), incident.get("priority"))
    return priority or first_text(incident.get("urgency"))


def _draft(incident: dict[str, Any], status: str, at: float | None, raw: Any) -> AlertDraft:
    service = as_dict(incident.get("service"))
    labels = {"service": first_text(service.get("summary"), service.get("name"), service.get("id")),
              "pagerduty_service_id": first_text(service.get("id")),
              "urgency": first_text(incident.get("urgency"))}
    labels = {k: v for k, v in labels.items() if v}
    started = to_epoch(first_text(incident.get("created_at"), incident.get("created_on")))
    return AlertDraft(
        native_id=first_text(incident.get("id"), incident.get("incident_key")),
        name=first_text(incident.get("title"), as_dict(incident.get("trigger_summary_data")).get("subject"),
                        incident.get("summary"), "PagerDuty incident"),
        status=status,  # type: ignore[arg-type]
        severity=_severity(incident),
        labels=labels,
        annotations={k: v for k, v in {"url": first_text(incident.get("html_url"))}.items() if v},
        starts_at=started if started is not None else (at if status == "firing" else None),
        ends_at=at if status == "resolved" else None,
        description=first_text(incident.get("description"), incident.get("title")),
        raw=raw,
    )


def _parse_v3(event: dict[str, Any]) -> list[AlertDraft]:
    event_type = first_text(event.get("event_type"))
    data = as_dict(event.get("data"))
    if data.get("type") != "incident" or not first_text(data.get("id")):
        raise NoAlertState(f"PagerDuty event {event_type[:60]!r} carries no incident state")
    status = "resolved" if first_text(data.get("status")) == "resolved" else "firing"
    return [_draft(data, status, to_epoch(event.get("occurred_at")), event)]


def _parse_v2(messages: list[Any]) -> list[AlertDraft]:
    drafts = []
    for message in messages:
        message = as_dict(message)
        incident = as_dict(message.get("incident"))
        if not first_text(incident.get("id"), incident.get("incident_key")):
            raise ShapeError("PagerDuty v2 message without an incident id")
        status = "resolved" if first_text(message.get("event")) == "incident.resolve" else "firing"
        drafts.append(_draft(incident, status, to_epoch(message.get("created_on")), message))
    return drafts


def _parse(payload: Any) -> list[AlertDraft]:
    p = as_dict(payload)
    if isinstance(p.get("event"), dict):
        return _parse_v3(p["event"])
    if isinstance(p.get("messages"), list) and p["messages"]:
        return _parse_v2(p["messages"])
    raise ShapeError("expected a PagerDuty v3 `event` or v2 `messages` payload")


def _signed_at(payload: Any) -> float | None:
    # v3 signatures cover the body but PagerDuty sends no timestamp header: the signed
    # `occurred_at` is what bounds a replay.
    p = as_dict(payload)
    if isinstance(p.get("event"), dict):
        return to_epoch(p["event"].get("occurred_at"))
    messages = as_list(p.get("messages"))
    return to_epoch(as_dict(messages[0]).get("created_on")) if messages else None


DRIVER = Driver(name="pagerduty", detect=_detect, parse=_parse, signed_at=_signed_at)
