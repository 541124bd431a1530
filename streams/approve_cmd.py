"""`logwarden approve|escalate APPROVAL_ID` and `logwarden ack|note|resolve|close INCIDENT_ID`.

A person's decision or action from a shell, as the same records every other way makes
(ops/APPROVALS.md): an `Approval` on `approvals` or an `IncidentAction` on
`incidents.actions`, keyed by the incident's service, actor `cli:$USER`. The command
returns once the broker acknowledged the record; the incident reducer decides what it
does (a decision on an approval that is no longer pending is refused in the timeline).
"""

from __future__ import annotations

import getpass
import os
import sys
import time
import uuid
from typing import IO

from aiokafka.errors import KafkaError

from agents.approvals.desk import approval_decision, incident_action
from agents.approvals.links import incident_of_approval
from agents.incidents.web import service_of_incident
from schemas.records import encode
from streams.errors import CliError
from streams.kafka import client

__all__ = ["APPROVAL_COMMANDS", "INCIDENT_COMMANDS", "cli_actor", "run_decision"]

APPROVAL_COMMANDS = {"approve": "approve", "escalate": "escalate"}
INCIDENT_COMMANDS = {"ack": "acknowledge", "note": "note", "resolve": "resolve", "close": "close"}


def cli_actor() -> str:
    try:
        user = os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = ""
    return f"cli:{user or 'unknown'}"


def _record(command: str, target: str, words: str, actor: str, now: float):  # noqa: ANN202
    decision_id = f"{actor}:{uuid.uuid4().hex}"
    if command in APPROVAL_COMMANDS:
        if not incident_of_approval(target):
            raise CliError(f"{target!r} is not an approval id (they look like <incident id>:fix:<n>)")
        record = approval_decision(target, APPROVAL_COMMANDS[command], actor, "cli", words, decision_id, now,
                                   service_of_incident)
        return "approvals", record
    if command == "note" and not words.strip():
        raise CliError("a note needs --text")
    return "incidents.actions", incident_action(target, INCIDENT_COMMANDS[command], actor, "cli", words,
                                                decision_id, now, service_of_incident)


async def run_decision(bootstrap: str, command: str, target: str, words: str, *, topic_prefix: str = "",
                       actor: str | None = None, out: IO[str] = sys.stdout) -> int:
    """Produce the record of `command` on `target` and wait for the broker's acknowledgement."""
    topic, record = _record(command, target.strip(), words, actor or cli_actor(), time.time())
    producer = await client.started(client.producer(bootstrap), bootstrap)
    try:
        await (await producer.send(topic_prefix + topic, value=encode(record), key=record.service.encode()))
    except KafkaError as exc:
        raise CliError(f"producing to {topic} failed: {exc.__class__.__name__}") from None
    finally:
        await client.quiet_stop(producer)
    what = f"{record.action} of {target}" if topic == "approvals" else f"{record.action} on {target}"
    print(f"{what} recorded on {topic} as {record.actor}; the incident's timeline shows what it did "
          f"(logwarden incidents show {record.incident_id})", file=out)
    return 0
