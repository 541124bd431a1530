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

__all__ = ["ConsoleChannel"]


class ConsoleChannel:
    name = "console"
    rate_rules: tuple[RateRule, ...] = ()

    def __init__(self, settings: ConsoleSettings, stream: TextIO | None = None) -> None:
        self.path = Path(settings.path)
        self.print = settings.print
        self.stream = stream if stream is not None else sys.stdout

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        text = plain_text(msg)
        line = json.dumps({"key": msg.key, "kind": msg.kind, "incident_id": msg.incident_id,
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
        return DeliveryResult.delivered(external_ref=msg.key)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return False
