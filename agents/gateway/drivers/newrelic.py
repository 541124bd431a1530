"""New Relic webhooks -> alert drafts: classic alert channels and Workflows (issues).

Classic: `current_state` open/acknowledged/closed per `incident_id`. Workflows: an
issue with `state` CREATED/ACTIVATED/ACKNOWLEDGED/CLOSED. Must never key a Workflows
alert by the notification `id` (new per message): the issue id in `issueUrl` is stable.
"""

from __future__ import annotations

import re
from typing import Any

from agents.gateway.drivers.base import (Driver, NoAlertState, ShapeError, as_dict, as_list,
                                         first_text)
from agents.gateway.normalise import AlertDraft, flat_labels, to_epoch

__all__ = ["DRIVER"]

_ISSUE = re.compile(r"/issues/([0-9a-fA-F-]{8,})")
_CLASSIC_STATUS = {"open": "firing", "acknowledged": "firing", "test": "firing", "closed": "resolved"}
_WORKFLOW_STATUS = {"created": "firing", "activated": "firing", "acknowledged": "firing",
                    "closed": "resolved"}


def _is_classic(p: dict[str, Any]) -> bool:
    return "current_state" in p and ("incident_id" in p or "condition_name" in p)


def _is_workflow(p: dict[str, Any]) -> bool:
    return "state" in p and ("issueUrl" in p or (
        "totalIncidents" in p and ("alertPolicyNames" in p or "alertConditionNames" in p)))


def _detect(payload: Any) -> bool:
    p = as_dict(payload)
    return _is_classic(p) or _is_workflow(p)


def _classic(p: dict[str, Any]) -> AlertDraft:
    state = first_text(p.get("current_state")).lower()
    if state not in _CLASSIC_STATUS:
        raise NoAlertState(f"New Relic state {state[:20]!r} opens or resolves nothing")
    status = _CLASSIC_STATUS[state]
    labels = {"policy": first_text(p.get("policy_name")), "condition": first_text(p.get("condition_name"))}
    for target in as_list(p.get("targets"))[:1]:
        labels.update(flat_labels(as_dict(as_dict(target).get("labels"))))
        labels.setdefault("entity", first_text(as_dict(target).get("name")))
    at = to_epoch(p.get("timestamp"))
    return AlertDraft(
        native_id=f"incident:{first_text(p.get('incident_id'), p.get('incident_url'))}",
        name=first_text(p.get("condition_name"), p.get("policy_name"), "New Relic incident"),
        status=status,  # type: ignore[arg-type]
        severity=first_text(p.get("severity")),
        labels={k: v for k, v in labels.items() if v},
        annotations={k: first_text(p.get(k)) for k in ("incident_url", "runbook_url")
                     if first_text(p.get(k))},
        starts_at=at if status == "firing" else None,
        ends_at=at if status == "resolved" else None,
        description=first_text(p.get("details")),
        raw=p,
    )


def _workflow(p: dict[str, Any]) -> AlertDraft:
    state = first_text(p.get("state")).lower()
    if state not in _WORKFLOW_STATUS:
        raise NoAlertState(f"New Relic issue state {state[:20]!r} opens or resolves nothing")
    status = _WORKFLOW_STATUS[state]
    issue = _ISSUE.search(first_text(p.get("issueUrl")))
    entities = [first_text(e) for e in as_list(p.get("impactedEntities")) if first_text(e)]
    labels = {"policy": ",".join(first_text(x) for x in as_list(p.get("alertPolicyNames"))),
              "condition": ",".join(first_text(x) for x in as_list(p.get("alertConditionNames"))),
              "entity": ",".join(entities), "workflow": first_text(p.get("workflowName"))}
    conditions = [first_text(x) for x in as_list(p.get("alertConditionNames")) if first_text(x)]
    return AlertDraft(
        native_id=f"issue:{issue.group(1) if issue else first_text(p.get('id'))}",
        name=conditions[0] if conditions else first_text(p.get("title"), "New Relic issue"),
        status=status,  # type: ignore[arg-type]
        severity=first_text(p.get("priority")),
        labels={k: v for k, v in labels.items() if v},
        annotations={k: first_text(p.get(k)) for k in ("title", "issueUrl") if first_text(p.get(k))},
        starts_at=to_epoch(p.get("createdAt")),
        ends_at=to_epoch(p.get("updatedAt")) if status == "resolved" else None,
        description=first_text(p.get("title")),
        raw=p,
    )


def _parse(payload: Any) -> list[AlertDraft]:
    p = as_dict(payload)
    if _is_classic(p):
        return [_classic(p)]
    if _is_workflow(p):
        return [_workflow(p)]
    raise ShapeError("expected a New Relic classic (`current_state`) or Workflows (`issueUrl`, `state`) payload")


DRIVER = Driver(name="newrelic", detect=_detect, parse=_parse)
