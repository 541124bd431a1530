"""Effects of the incident reducer, and the `Step` that builds them with deterministic ids.

An effect (schemas.effects) is a record to publish or a report to write; the stage's
shell carries them out.
Ids come from counters kept in the service state, so replaying the same input from the
same state gives the same ids. This module must never publish, write files or read a
clock itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.incidents.config import IncidentsConfig
from agents.incidents.state import Incident, PendingRequest, ServiceState
from schemas.effects import Publish, WriteReport
from schemas.records import AIRequest, IncidentEvent, OutboxMessage

__all__ = ["Effect", "Publish", "Step", "WriteReport"]

Effect = Publish | WriteReport
_PAGING_KINDS = ("alert", "update", "alert_edit", "approval_request")


@dataclass
class Step:
    """One application of the reducer: the state being changed, the clock, the effects."""

    state: ServiceState
    now: float
    cfg: IncidentsConfig
    effects: list[Effect] = field(default_factory=list)

    def event(self, type_: str, incident: Incident | None = None, data: dict[str, Any] | None = None,
              title: str = "", incident_id: str = "", at: float | None = None) -> IncidentEvent:
        """`at`: the event time the event records, when not the reducer's clock (an answer
        to an earlier record is stamped with that record's time: see `_on_receipt`)."""
        self.state.event_seq += 1
        incident_id = incident.incident_id if incident else incident_id
        scope = incident_id or self.state.service
        record = IncidentEvent(
            event_id=f"{scope}:{type_}:{self.state.event_seq}",
            type=type_,
            incident_id=incident_id,
            service=self.state.service,
            at=self.now if at is None else at,
            severity=incident.severity if incident else "",
            title=title or (incident.title if incident else ""),
            data=data or {},
        )
        self.effects.append(Publish("incidents.events", self.state.service, record))
        return record

    def outbox(self, kind: str, title: str, body: str = "", incident: Incident | None = None,
               severity: str = "", labels: list[str] | None = None,
               fields: dict[str, str] | None = None) -> OutboxMessage:
        self.state.outbox_seq += 1
        scope = incident.incident_id if incident else self.state.service
        if incident is not None and incident.acknowledged_by and kind in _PAGING_KINDS:
            # Someone acknowledged: on-call is not paged again (routing drops PagerDuty);
            # the channels still get the message.
            fields = {**(fields or {}), "oncall_acknowledged": "true"}
        message = OutboxMessage(
            key=f"{scope}:{kind}:{self.state.outbox_seq}",
            kind=kind,
            incident_id=incident.incident_id if incident else "",
            service=self.state.service,
            severity=severity or (incident.severity if incident else ""),
            title=title,
            body=body,
            labels=labels or [],
            fields=fields or {},
            at=self.now,
        )
        self.effects.append(Publish("notify.outbox", self.state.service, message))
        return message

    def ask_ai(self, task: str, incident: Incident, payload: dict[str, Any], fingerprint: str = "") -> str:
        incident.ai_seq += 1
        request_id = f"{incident.incident_id}:{task}:{incident.ai_seq}"
        self.state.pending[request_id] = PendingRequest(
            request_id=request_id, task=task, incident_id=incident.incident_id,
            fingerprint=fingerprint, asked_at=self.now,
        )
        request = AIRequest(request_id=request_id, task=task, service=self.state.service,
                            incident_id=incident.incident_id, fingerprint=fingerprint,
                            at=self.now, payload=payload)
        self.effects.append(Publish("ai.requests", self.state.service, request))
        return request_id

    def ask_summary(self, incident: Incident, narrative: dict[str, Any]) -> None:
        """Ask the AI for the incident's first summary: inside the incident's classification
        asked in this very step when there is one (one round trip answers both), else alone."""
        for i, effect in enumerate(self.effects):
            request = effect.record if isinstance(effect, Publish) else None
            if (isinstance(request, AIRequest) and request.task == "classify"
                    and request.incident_id == incident.incident_id and not request.payload.get("incident")):
                payload = {**request.payload, "incident": narrative}
                self.effects[i] = Publish(effect.topic, effect.key, request.model_copy(update={"payload": payload}))
                return
        self.ask_ai("summary", incident, narrative)

    def note(self, incident: Incident, text: str) -> None:
        """Append to the incident timeline, keeping the opening and the latest entries."""
        incident.timeline.append({"at": self.now, "text": text})
        excess = len(incident.timeline) - self.cfg.timeline_max
        if excess > 0:
            keep_head = self.cfg.timeline_max // 5
            del incident.timeline[keep_head:keep_head + excess]
