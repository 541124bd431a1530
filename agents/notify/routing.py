"""Which channels an outbox message goes to: its own `channels` list if it names any,
else the first matching route whose channels are configured, else the fallback
(console by default, so nothing configured still shows everything).

Pure: no I/O, no clock. Must never drop a message silently: when no route applies, the
fallback channels receive it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Collection

from agents.notify.config import NotifyConfig, RouteRule
from schemas.records import OutboxMessage

__all__ = ["route", "rule_matches"]


def rule_matches(rule: RouteRule, msg: OutboxMessage) -> bool:
    # An edit of the first alert goes wherever the alert went.
    kind = "alert" if msg.kind == "alert_edit" else msg.kind
    return ((not rule.kinds or kind in rule.kinds)
            and (not rule.severities or msg.severity in rule.severities)
            and (not rule.services or any(fnmatchcase(msg.service, p) for p in rule.services)))


def route(msg: OutboxMessage, cfg: NotifyConfig, configured: Collection[str]) -> list[str]:
    """Channel names for `msg`, without repeats, in the order the configuration gives."""
    names = _route(msg, cfg, configured)
    if msg.fields.get("oncall_acknowledged") == "true":
        # On-call acknowledged the incident: no page again; the other channels still get it.
        names = [name for name in names if name != "pagerduty"] or list(dict.fromkeys(cfg.fallback_channels))
    return names


def _route(msg: OutboxMessage, cfg: NotifyConfig, configured: Collection[str]) -> list[str]:
    if msg.channels:
        # An explicit list is obeyed as is; an unconfigured name then fails visibly.
        return list(dict.fromkeys(msg.channels))
    for rule in cfg.routes:
        if rule_matches(rule, msg):
            chosen = [name for name in rule.channels if name in configured]
            if chosen:
                return list(dict.fromkeys(chosen))
            break  # the matching rule's channels are not set up: fall back, not fall through
    return list(dict.fromkeys(cfg.fallback_channels))
