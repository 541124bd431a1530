"""The shipper configs send to `logs.raw` keyed by service, so lines land where extract reads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

SHIPPERS = Path(__file__).resolve().parents[3] / "ops" / "shippers"


def test_vector_kafka_sink_keys_by_service():
    sink = tomllib.loads((SHIPPERS / "vector.toml").read_text())["sinks"]["logwarden"]
    assert (sink["type"], sink["topic"], sink["key_field"], sink["encoding"]["codec"]) == (
        "kafka", "logs.raw", "service", "json")


def test_fluent_bit_output_keys_by_service():
    text = (SHIPPERS / "fluent-bit.conf").read_text()
    output = text[text.index("[OUTPUT]"):]
    options = dict(re.findall(r"^\s+(\S+)\s+(.+?)\s*$", output, re.M))
    assert (options["Name"], options["Topics"], options["Message_Key_Field"], options["Format"]) == (
        "kafka", "logs.raw", "service", "json")


def test_rsyslog_keys_by_app_name():
    text = (SHIPPERS / "rsyslog.conf").read_text()
    assert 'topic="logs.raw"' in text and 'dynaKey="on"' in text
    assert 'string="%app-name%"' in text
