"""What the console shows a person (issue #13): a ticket by the label they can search
for, never by the outbox key; machine fields (fingerprints) carried, not shown."""

from __future__ import annotations

import io
import json

from agents.notify.channels.console import ConsoleChannel
from agents.notify.config import ConsoleSettings
from agents.notify.render import plain_text
from schemas.records import OutboxMessage


def _ticket(kind: str, label: str, **fields: str) -> OutboxMessage:
    return OutboxMessage(key=f"ledger-20261202T0153Z-1:{kind}:2", kind=kind, incident_id="ledger-20261202T0153Z-1",
                         service="ledger", severity="P1", title="[P1] psycopg2.OperationalError on ledger",
                         body="P1 database: psycopg2.OperationalError", labels=[label], fields=fields)


async def test_a_console_ticket_is_its_label_not_the_outbox_key(tmp_path):
    console = ConsoleChannel(ConsoleSettings(path=tmp_path / "n.jsonl", print=True), stream=io.StringIO())
    created = await console.send(_ticket("ticket_create", "ledger-20261202T0153Z-1"), {})
    oneoff = await console.send(_ticket("oneoff_ticket", "lw-oneoff-3f2a9c1d0b7e", fingerprint="fp1:abc"), {})
    alert = await console.send(_ticket("alert", "ledger-20261202T0153Z-1").model_copy(update={"labels": []}), {})
    assert (created.external_ref, oneoff.external_ref) == ("ledger-20261202T0153Z-1", "lw-oneoff-3f2a9c1d0b7e")
    assert alert.external_ref.endswith(":alert:2")  # not a ticket: the key stays its reference
    lines = [json.loads(line) for line in (tmp_path / "n.jsonl").read_text().splitlines()]
    assert [line["ticket"] for line in lines] == ["ledger-20261202T0153Z-1", "lw-oneoff-3f2a9c1d0b7e", ""]
    # No tracker: the console says none was filed, and by which label a tracker would find it.
    assert lines[1]["text"].endswith(
        "\nTicket: none filed, no tracker configured (a Jira issue would carry the label lw-oneoff-3f2a9c1d0b7e)")
    assert all(":ticket_create:" not in line["text"] and "fp1:" not in line["text"] for line in lines)


def test_machine_fields_are_not_shown():
    text = plain_text(_ticket("oneoff_ticket", "lw-oneoff-1", fingerprint="fp1:abc", entry_id="ledger||X",
                              occurrences="3"))
    assert "fp1:abc" not in text and "ledger||X" not in text and "Occurrences: 3" in text
