"""A replay's AI answers: the answer recorded on the live `ai.results` for the same
request id, else the local provider's (never a model: a replay calls no API); none for a
request the live incident stage stopped waiting for.

A ticket's delivery receipt (its id in the tracker) recorded on the live
`notify.receipts` is folded in where live folded it: live, its `ticket_created` event
has a number in its service's sequence of events, so the replay holds the receipt until
its service has made one event fewer (a tracker that answers in a second comes before
the next window; a live worker catching up on a backlog takes it after all of them).

Request ids are deterministic (incident id, task, counter), so a replay that asks what
the live run asked gets the live run's answer, model or not. Live, an answer reaches the
incident reducer a moment after its request, before the service's next window; a
replay's windows come as fast as the machine reads them, so an answer sent through the
replay's own topics would reach the reducer behind them, often after its event-time
timeout, and the replay would decide with its built-in rules where the live run used the
model. So the replay's incident stage folds each answer into the step that asked
(`answer`, given to `agents.incidents.fold.fold_record`), and a request the live reducer
gave up on (its `expired` audit record on the live `ai.audit`) gets no answer: the
replay's reducer gives up on it too, when the same event time comes.

The replay's AI stage (`register`) answers nothing: it writes the audit record of each
request, for the report: `cached` for a recorded answer, `fallback_reason` "replay: not
recorded" for a local one, `expired` for one the live run had no answer to in time.
"""

from __future__ import annotations

from typing import Any, TypeVar

from agents.ai.service import AIService
from agents.incidents.lifecycle import EXPIRED_BY
from agents.incidents.state import ServiceState
from schemas.effects import Publish
from schemas.records import AIAudit, AIRequest, AIResult, IncidentEvent, OutboxMessage, Receipt, Record

__all__ = ["EXPIRED_LIVE", "NOT_RECORDED", "RecordedAnswers", "ReplayAnswers", "register"]

R = TypeVar("R", bound=Record)

NOT_RECORDED = "replay: not recorded"
EXPIRED_LIVE = "replay: no answer in time live"


def _parsed(model: type[R], value: bytes | None) -> R | None:
    """A record of the live topics, or None for one this version cannot read (skipped)."""
    try:
        return model.model_validate_json(value or b"")
    except ValueError:
        return None


class RecordedAnswers:
    """Answers of the live run by request id (the first answer of each wins, as in the
    reducer), and the requests the live reducer stopped waiting for."""

    def __init__(self) -> None:
        self.results: dict[str, AIResult] = {}
        self.expired: set[str] = set()
        self.receipts: dict[str, Receipt] = {}  # a ticket's outbox key -> its first delivery receipt
        self.created_seq: dict[tuple[str, str], int] = {}  # (service, ticket label) -> live event number

    def add(self, value: bytes | None) -> None:
        result = _parsed(AIResult, value)
        if result is not None:
            self.results.setdefault(result.request_id, result)

    def add_audit(self, value: bytes | None) -> None:
        audit = _parsed(AIAudit, value)
        if audit is not None and audit.outcome == "expired" and audit.provider == EXPIRED_BY:
            self.expired.add(audit.request_id)

    def add_receipt(self, value: bytes | None) -> None:
        receipt = _parsed(Receipt, value)
        if receipt is not None and receipt.status == "delivered" and receipt.kind == "ticket_create":
            self.receipts.setdefault(receipt.key, receipt)  # the first of a key counts, as in the reducer

    def add_event(self, value: bytes | None) -> None:
        """A live `ticket_created` event: where among its service's events the receipt was folded."""
        event = _parsed(IncidentEvent, value)
        seq = event.event_id.rpartition(":")[2] if event is not None else ""
        if event is not None and event.type == "ticket_created" and seq.isdigit():
            self.created_seq.setdefault((event.service, str(event.data.get("label", ""))), int(seq))


class ReplayAnswers:
    """The answer to each request of the replay, decided once (the incident stage and the
    AI stage's audit ask about the same request)."""

    def __init__(self, cfg, recorded: RecordedAnswers) -> None:  # noqa: ANN001 - streams.config.Config
        self.recorded = recorded
        self._local = AIService(cfg.ai.model_copy(update={"provider": "local"}))
        self._held: dict[str, list[tuple[int, Receipt]]] = {}  # service -> (live event number, receipt)
        self._local_audits: dict[str, AIAudit] = {}  # request id -> the local answer's audit, until written

    def asked(self, record: AIRequest | OutboxMessage, state: ServiceState) -> AIResult | None:
        """For the incident stage: the answer to an AI request, folded in with the request,
        or None for one that expired live. A ticket's creation is held for `due` when its
        live receipt and the place of its `ticket_created` event are known (else the
        replay's notify stage answers, through its topics)."""
        if isinstance(record, OutboxMessage):
            receipt = self.recorded.receipts.get(record.key)
            label = state.pending_tickets.get(record.key, "")
            seq = self.recorded.created_seq.get((state.service, label))
            if receipt is not None and seq is not None:
                self._held.setdefault(state.service, []).append((seq, receipt))
            return None
        return self.result_for(record)

    def due(self, state: ServiceState) -> list[Receipt]:
        """The held receipts whose event comes next: live folded the receipt when its
        service had made one event fewer than the receipt's `ticket_created` number."""
        held = self._held.get(state.service)
        if not held:
            return []
        now = [receipt for seq, receipt in held if seq - 1 <= state.event_seq]
        if now:
            self._held[state.service] = [(seq, r) for seq, r in held if seq - 1 > state.event_seq]
        return now

    def result_for(self, request: AIRequest) -> AIResult | None:
        """The recorded live answer, else the local provider's; None if live gave up on it."""
        if request.request_id in self.recorded.expired:
            return None
        result = self.recorded.results.get(request.request_id)
        if result is None:
            result, audit = self._local.answer_locally(request)
            self._local_audits[request.request_id] = audit  # for `audit`: not answered twice
        return result

    def audit(self, request: AIRequest) -> AIAudit:
        rid = request.request_id
        if rid in self.recorded.expired:
            return AIAudit(request_id=rid, task=request.task, provider="replay", outcome="expired", fallback=True,
                           fallback_reason=EXPIRED_LIVE, at=request.at)
        result = self.recorded.results.get(rid)
        if result is not None:
            return AIAudit(request_id=rid, task=request.task, provider=result.provider, model=result.model,
                           cached=True, outcome="cached", at=request.at)
        audit = self._local_audits.pop(rid, None)
        if audit is None:  # asked of the AI stage alone (the incident stage answers first)
            _, audit = self._local.answer_locally(request)
        return audit.model_copy(update={"fallback_reason": NOT_RECORDED})


def register(stage, answers: ReplayAnswers) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    async def audit(request: AIRequest, source: Any) -> list[Publish]:  # noqa: ARG001
        return [Publish("ai.audit", request.request_id, answers.audit(request))]

    stage.consume({"ai.requests": AIRequest}, audit, invalid_reason="invalid_request")
