"""`send-logs` keys each line by the service the extract stage would find, and turns a
line too large for extraction into a dead letter instead of failing the file."""

from __future__ import annotations

import json

from agents.extract.config import ExtractConfig
from streams.cli import _parser
from streams.produce import key_of, too_large_letter

EXTRACT = ExtractConfig()


def test_plain_rfc3164_syslog_line_is_keyed_by_its_tag():
    line = b"<11>Nov 24 07:00:01 web-3 billing[4242]: ERROR charge failed for order 88123"
    assert key_of(line, EXTRACT) == b"billing"


def test_json_line_is_keyed_by_its_app_field():
    assert key_of(json.dumps({"app": "inventory", "level": "error", "msg": "x"}).encode(), EXTRACT) == b"inventory"


def test_kubernetes_label_names_the_service():
    line = json.dumps({"kubernetes": {"labels": {"app": "shipping"}}, "log": "ERROR boom"}).encode()
    assert key_of(line, EXTRACT) == b"shipping"


def test_service_map_and_unknown():
    mapped = ExtractConfig(service_map={"billing": "payments"})
    line = b"Nov 24 07:00:01 web-3 billing[4242]: ERROR charge failed"
    assert key_of(line, mapped) == b"payments"
    assert key_of(b"just some text", EXTRACT) == b"unknown"


def test_service_option_overrides_the_line():
    assert key_of(json.dumps({"app": "inventory"}).encode(), EXTRACT, service="payments") == b"payments"
    args = _parser().parse_args(["send-logs", "app.log", "--service", "payments"])
    assert (args.file, args.service) == ("app.log", "payments")


def test_too_large_line_becomes_a_dead_letter_never_written_to_logs_raw():
    line = b'{"app": "inventory", "msg": "password=hunter2 ' + b"x" * (2 * 1024 * 1024) + b'"}'
    letter = too_large_letter(line, b"inventory", 1024 * 1024, now=1_790_000_000.0)
    assert (letter.source_topic, letter.partition, letter.offset) == ("logs.raw", -1, -1)
    assert (letter.stage, letter.reason, letter.key) == ("send-logs", "too_large", "inventory")
    assert letter.payload_bytes == len(line) and len(letter.payload) < 2100  # truncated, then redacted
    assert "inventory" in letter.payload and "hunter2" not in letter.payload
    assert str(len(line)) in letter.error and letter.at == 1_790_000_000.0
