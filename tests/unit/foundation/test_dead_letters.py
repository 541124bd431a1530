"""Dead letters keep the reason and the input, minus secrets, bounded in size."""

from __future__ import annotations

from pydantic import ValidationError

from schemas.records import OutboxMessage
from streams.topology import dead_letter_of


def test_dead_letter_keeps_reason_and_input_without_secrets():
    raw = (b'{"key": "k", "kind": "alert", "title": "db down", '
           b'"body": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl password=hunter2", '
           b'"severity": "P1", "at": "not-a-number"}')
    try:
        OutboxMessage.model_validate_json(raw)
    except ValidationError as exc:
        error = exc
    letter = dead_letter_of("notify.outbox", 3, 42, b"payments", raw, stage="notify",
                            reason="invalid_outbox_record", error=error, trace_id="t-1")
    assert (letter.source_topic, letter.partition, letter.offset, letter.key) == ("notify.outbox", 3, 42, "payments")
    assert letter.reason == "invalid_outbox_record" and letter.error.startswith("ValidationError")
    assert "db down" in letter.payload  # what failed is kept for the operator
    assert "hunter2" not in letter.payload and "eyJhbGciOiJIUzI1NiJ9" not in letter.payload
    assert letter.payload_bytes == len(raw)


def test_dead_letter_payload_is_bounded_and_tolerates_undecodable_bytes():
    raw = b"\xff\xfe" + b"x" * 10_000_000
    letter = dead_letter_of("logs.raw", 0, 1, None, raw, stage="extract", reason="too_large", error="10 MB line")
    assert len(letter.payload) <= 2000 and letter.payload_bytes == len(raw)
    assert letter.key == ""
