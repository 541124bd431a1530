"""`logwarden approve|escalate|ack|note|resolve|close`: arguments and the records they make."""

from __future__ import annotations

import pytest

from streams.approve_cmd import _record, cli_actor
from streams.cli import _parser
from streams.errors import CliError
from tests.unit.approvals.conftest import APPROVAL, INCIDENT, NOW


def test_the_commands_parse():
    args = _parser().parse_args(["approve", APPROVAL])
    assert (args.command, args.approval_id, args.reason) == ("approve", APPROVAL, "")
    args = _parser().parse_args(["note", INCIDENT, "--text", "looking"])
    assert (args.command, args.incident_id, args.text) == ("note", INCIDENT, "looking")


@pytest.mark.parametrize("argv", [["escalate", APPROVAL], ["note", INCIDENT], ["approve"]])
def test_escalate_needs_a_reason_and_a_note_its_text(argv, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)


def test_records_carry_the_service_actor_and_redacted_words():
    topic, record = _record("escalate", APPROVAL, "token=abc123secretvalue broke it", "cli:ana", NOW)
    assert (topic, record.service, record.action, record.actor, record.via) == (
        "approvals", "checkout", "escalate", "cli:ana", "cli")
    assert "abc123secretvalue" not in record.reason and record.decision_id.startswith("cli:ana:")
    topic, record = _record("ack", INCIDENT, "", "cli:ana", NOW)
    assert (topic, record.action, record.incident_id, record.service) == (
        "incidents.actions", "acknowledge", INCIDENT, "checkout")


def test_a_bad_approval_id_is_one_clear_error():
    with pytest.raises(CliError, match="not an approval id"):
        _record("approve", INCIDENT, "", "cli:ana", NOW)


def test_the_actor_is_the_user(monkeypatch):
    monkeypatch.setenv("USER", "ana")
    assert cli_actor() == "cli:ana"
