"""Thin shell of the notify stage: notify.outbox -> channels -> notify.receipts.

The delivery ledger (delivered keys, per-incident message ids and ticket keys) is a
changelogged table, so a redelivered outbox record after a crash is skipped and later
updates edit or comment instead of creating. The one retry loop lives in `Notifier`;
what finally fails goes to the dead-letter topic with the reason.
"""

from __future__ import annotations

import time

from agents.approvals.links import with_decision_links
from agents.notify.notifier import Notifier
from schemas.effects import Publish
from schemas.records import OutboxMessage

__all__ = ["register"]

EXPIRE_EVERY = 500  # records between TTL sweeps of the ledger (timers cannot write tables)


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    ledger = stage.table("notify-ledger")
    holder: dict[str, Notifier] = {}
    seen = [0]

    def notifier() -> Notifier:
        if "n" not in holder:
            holder["n"] = Notifier(cfg.notify.under(cfg.data_dir), store=ledger)
        return holder["n"]

    async def deliver(msg: OutboxMessage, source) -> list[Publish]:  # noqa: ANN001
        n = notifier()
        # Signed Approve/Escalate links on an approval request (when approvals.link_secret is set).
        msg = with_decision_links(msg, cfg.approvals.public_url, cfg.approvals.link_secret.get_secret_value(),
                                  cfg.approvals.link_ttl_s, time.time())
        if msg.kind == "approval_request" and cfg.approvals.slack_signing_secret.get_secret_value():
            # Buttons only where a click can be verified (POST /slack/interactions).
            msg = msg.model_copy(update={"fields": {**msg.fields, "slack_buttons": "true"}})
        receipts = await n.deliver(msg)
        effects = [Publish("notify.receipts", msg.service or msg.incident_id, receipt.model_copy(update={
            "trace_id": msg.trace_id, "service": msg.service,
            # The incident reducer runs on event time: a receipt answers the outbox
            # record's moment, not the wall clock of the delivery.
            "at": msg.at, "delivered_at": receipt.at})) for receipt in receipts]
        effects += [Publish("dead.letter", "notify.outbox", letter.model_copy(update={
            "partition": source.partition, "offset": source.offset, "trace_id": msg.trace_id}))
            for letter in n.failed_dead_letters(msg, receipts)]
        seen[0] += 1
        if seen[0] % EXPIRE_EVERY == 0:
            n.expire()
        return effects

    async def close() -> None:
        if "n" in holder:
            await holder["n"].aclose()

    stage.consume({"notify.outbox": OutboxMessage}, deliver, invalid_reason="invalid_outbox_record")
    stage.on_stop(close)
