"""Datadog webhook (default or custom payload) -> alert drafts.

The transition comes from `alert_transition` / `transition` or the `[Triggered]`-style
title prefix. Must never accept the unrendered default template (`$EVENT_TITLE`): it
means the integration was saved without variables being substituted.
"""

from __future__ import annotations

import re
from typing import Any

from agents.gateway.drivers.base import Driver, ShapeError, as_dict, first_text
from agents.gateway.normalise import AlertDraft, flat_labels, to_epoch

__all__ = ["DRIVER"]

_PREFIX = re.compile(r"^\s*\[([^\]]*)\]\s*")
_MONITOR = re.compile(r"/monitors[#/](\d+)")
_GROUP = re.compile(r"[?&]group=([^&)\]\s]+)")
_TEMPLATE_VAR = re.compile(r"^\$[A-Z_]+$")
_RESOLVED = ("recovered", "ok")
_SEVERITY = {"triggered": "critical", "re-triggered": "critical", "warn": "warning",
             "re-warn": "warning", "no data": "no data", "re-no data": "no data"}


def _detect(payload: Any) -> bool:
    p = as_dict(payload)
    if "current_state" in p or "alerts" in p:
        return False
    has_transition = "alert_transition" in p or "transition" in p
    return "title" in p and ("event_type" in p or has_transition) and (
        "body" in p or "date" in p or "last_updated" in p)


def _transition(p: dict[str, Any]) -> tuple[str, str]:
    """(transition, title without its bracketed prefixes)."""
    title = first_text(p.get("title"))
    found = first_text(p.get("alert_transition"), p.get("transition")).lower()
    while match := _PREFIX.match(title):
        word = match.group(1).split(" on ", 1)[0].strip().lower()
        if not found and (word in _SEVERITY or word in _RESOLVED):
            found = word
        title = title[match.end():]
    return found, title.strip()


def _parse(payload: Any) -> list[AlertDraft]:
    p = as_dict(payload)
    if not first_text(p.get("title")):
        raise ShapeError("expected a Datadog webhook with a `title`")
    if any(isinstance(v, str) and _TEMPLATE_VAR.match(v) for v in p.values()):
        raise ShapeError("the Datadog payload contains unrendered template variables such as"
                         " $EVENT_TITLE; check the webhook integration's payload")
    transition, name = _transition(p)
    status = "resolved" if transition in _RESOLVED else "firing"
    text = " ".join(first_text(p.get(k)) for k in ("link", "body"))
    monitor = _MONITOR.search(text)
    group = _GROUP.search(text)
    native = first_text(p.get("aggregate"), p.get("alert_cycle_key"))
    if not native:
        native = (f"monitor:{monitor.group(1)}|{group.group(1) if group else ''}" if monitor
                  else f"title:{name}")
    labels = flat_labels(first_text(p.get("event_tags"), p.get("tags")) or p.get("tags") or [])
    org = first_text(as_dict(p.get("org")).get("name"))
    if org:
        labels.setdefault("datadog_org", org)
    at = to_epoch(first_text(p.get("date"), p.get("last_updated")))
    body = first_text(p.get("body")).replace("%%%", "").strip()
    return [AlertDraft(
        native_id=native,
        name=name or "Datadog monitor",
        status=status,
        severity=first_text(p.get("alert_priority"), p.get("priority"), _SEVERITY.get(transition)),
        labels=labels,
        annotations={k: first_text(p.get(k)) for k in ("link", "event_type", "event_id", "id")
                     if first_text(p.get(k))},
        starts_at=at if status == "firing" else None,
        ends_at=at if status == "resolved" else None,
        description=body,
        raw=p,
    )]


DRIVER = Driver(name="datadog", detect=_detect, parse=_parse)
