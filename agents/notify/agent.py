"""Thin Faust shell of the notify stage: notify.outbox -> channels -> notify.receipts.

The delivery ledger (delivered keys, per-incident message ids and ticket keys) is a
changelogged table, so a redelivered outbox record after a crash is skipped and later
updates edit or comment instead of creating. The one retry loop lives in `Notifier`;
what finally fails goes to the dead-letter topic with the reason.
"""

from __future__ import annotations

import logging

import faust

from agents.notify.notifier import Notifier
from schemas.records import OutboxMessage
from streams.logs import trace_context

__all__ = ["register"]

log = logging.getLogger(__name__)

EXPIRE_EVERY = 500  # records between TTL sweeps of the ledger (timers cannot write tables)


def register(app: faust.App, topology, cfg) -> None:
    ledger = app.Table("notify-ledger", partitions=cfg.partitions,
                      schema=faust.Schema(key_type=str, value_type=None, key_serializer="json", value_serializer="json"))
    holder: dict[str, Notifier] = {}

    def notifier() -> Notifier:
        if "n" not in holder:
            holder["n"] = Notifier(cfg.notify, store=ledger)
        return holder["n"]

    @app.agent(topology["notify.outbox"], concurrency=1, name="logwarden.notify")
    async def deliver(stream):
        seen = 0
        async for event in stream.events():
            try:
                msg = OutboxMessage.model_validate_json(event.value)
            except ValueError as exc:
                await topology.reject(event, "notify", "invalid_outbox_record", exc)
                continue
            with trace_context(msg.trace_id):
                n = notifier()
                receipts = await n.deliver(msg)
                for receipt in receipts:
                    await topology.publish("notify.receipts", msg.service or msg.incident_id,
                                           receipt.model_copy(update={
                        "trace_id": msg.trace_id, "service": msg.service,
                        # The incident reducer runs on event time: a receipt answers the
                        # outbox record's moment, not the wall clock of the delivery.
                        "at": msg.at, "delivered_at": receipt.at}))
                for letter in n.failed_dead_letters(msg, receipts):
                    await topology.dead_letter(letter.model_copy(update={
                        "partition": event.message.partition, "offset": event.message.offset,
                        "trace_id": msg.trace_id}))
                seen += 1
                if seen % EXPIRE_EVERY == 0:
                    n.expire()

    @app.on_before_shutdown.connect
    async def _close(app, **kwargs) -> None:  # noqa: ANN001
        if "n" in holder:
            await holder["n"].aclose()
