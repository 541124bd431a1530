"""Console channel: readable terminal output plus one JSON line per message in a file.

The default when nothing else is configured, so a local run shows every notification.
The file is `notify.console.path`; the notify shell hands over the config with that path
placed under the data dir (`NotifyConfig.under`), so it never lands in whatever
directory the worker happened to be started from.
Must never raise on a message: a console that cannot write its file reports a
retryable failure instead (the disk may come back).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Mapping, TextIO

from agents.notify.config import ConsoleSettings
from agents.notify.delivery import DeliveryResult, RateRule
from agents.notify.render import plain_text
from schemas.records import OutboxMessage

__all__ = ["ConsoleChannel", "console_ticket"]

_CREATES = ("ticket_create", "oneoff_ticket")
_TICKET_KINDS = (*_CREATES, "ticket_comment", "ticket_resolve")


def console_ticket(msg: OutboxMessage) -> str:
    """The ticket a console message is about: its label (the incident id, or the one-off's
    `lw-oneoff-…` label), as a Jira label finds the issue."""
    return msg.labels[0] if msg.labels and msg.kind in _TICKET_KINDS else ""


class ConsoleChannel:
    name = "console"
    rate_rules: tuple[RateRule, ...] = ()

    def __init__(self, settings: ConsoleSettings, stream: TextIO | None = None) -> None:
        self.path = Path(settings.path)
        self.print = settings.print
        self.stream = stream if stream is not None else sys.stdout

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        ticket = console_ticket(msg)
        # The console files no ticket: say so, and the label a tracker's issue would carry
        # (a bare "Ticket: <incident id>" read as if one had been filed).
        text = plain_text(msg) + (f"\nTicket: none filed, no tracker configured (a Jira issue would carry the "
                                  f"label {ticket})" if ticket and msg.kind in _TICKET_KINDS else "")
        line = json.dumps({"key": msg.key, "kind": msg.kind, "incident_id": msg.incident_id, "ticket": ticket,
                           "service": msg.service, "severity": msg.severity, "title": msg.title,
                           "text": text, "links": msg.links, "at": msg.at}, ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            return DeliveryResult.retryable("file_error", f"cannot write notifications file ({exc.strerror})")
        if self.print:
            rule = "─" * 72
            print(f"{rule}\n{text}\n{rule}", file=self.stream, flush=True)
        # The "ticket" a console creates is its label: what a person reads in the incident
        # text and can search for, never the outbox key.
        return DeliveryResult.delivered(external_ref=ticket if msg.kind in _CREATES else msg.key)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return False
