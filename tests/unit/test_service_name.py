"""The one rule for the service of a line, on every shape shippers send.

Expected names are the ones the sample lines themselves carry (RFC 3164 TAG, RFC 5424
APP-NAME, the JSON fields Vector/Fluent Bit/ECS/Kubernetes metadata put there).
"""

from __future__ import annotations

import pytest

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor
from agents.service_name import service_of_line

SHAPES = [
    (b'{"service":"checkout","msg":"x"}', "checkout"),
    (b'{"service":{"name":"checkout"},"message":"x"}', "checkout"),  # ECS
    (b'{"service.name":"checkout","msg":"x"}', "checkout"),  # pino / OTel flat
    (b'{"app":"inventory","msg":"x"}', "inventory"),
    (b'{"application":"ledger","msg":"x"}', "ledger"),
    (b'{"kubernetes":{"labels":{"app":"shipping"},"container_name":"main"},"log":"x"}', "shipping"),
    (b'{"kubernetes":{"labels":{"app.kubernetes.io/name":"cart"}},"log":"x"}', "cart"),
    (b'{"kubernetes":{"container_name":"payments"},"log":"x"}', "payments"),
    (b'{"appname":"cron","message":"x"}', "cron"),  # rsyslog json
    (b'{"programname":"billing","msg":"x"}', "billing"),  # rsyslog property name
    (b'{"SYSLOG_IDENTIFIER":"sshd","MESSAGE":"x"}', "sshd"),  # journald
    (b"Mar  7 10:00:01 web-1 billing[4242]: ERROR charge failed", "billing"),  # RFC 3164
    (b"<11>Mar  7 10:00:01 web-1 billing: ERROR charge failed", "billing"),
    (b"<11>1 2024-03-07T10:00:01.000Z web-1 orders 4242 - - ERROR boom", "orders"),  # RFC 5424
    (b"2024-03-07T10:00:01.123456+00:00 web-1 orders[77]: ERROR boom", "orders"),  # rsyslog file format
    (b"api-1  | ERROR something", "api-1"),  # docker compose logs
    (b"ts=2024-03-07T10:00:01Z level=error app=pay msg=boom", "pay"),  # logfmt
    (b'service="billing api" level=error msg=boom', "billing api"),  # logfmt, quoted, first in the line
    (b'worker-1 | level=error msg="x" service=ledger', "ledger"),  # logfmt behind a compose prefix
]


@pytest.mark.parametrize("line,service", SHAPES)
def test_the_line_names_its_service_whatever_the_key(line, service):
    assert service_of_line(line, b"unknown") == service
    assert service_of_line(line, None) == service


def test_mapping_then_key_then_unknown():
    assert service_of_line(b'{"app":"pay-svc"}', None, service_map={"pay-svc": "payments"}) == "payments"
    assert service_of_line(b"plain text ERROR", b"gateway") == "gateway"
    assert service_of_line(b"plain text ERROR", None) == "unknown"
    assert service_of_line(b"\xff\xfe not utf-8", None) == "unknown"
    assert service_of_line(b"{not json", b"k") == "k"


def test_extraction_counts_a_line_under_the_service_it_names_not_its_key():
    # One shipper keys every line "unknown" (send-logs before the fix, a host-keyed shipper):
    # three services, each counted under its own name.
    ex = PartitionExtractor(0, ExtractConfig())
    lines = [b'{"app":"inventory","level":"error","msg":"stock sync failed","timestamp":1700000001}',
             b'{"kubernetes":{"labels":{"app":"shipping"}},"level":"error","msg":"label failed","timestamp":1700000002}',
             b"Nov 14 22:13:23 host billing[4242]: ERROR invoice run failed"]
    for offset, line in enumerate(lines * 3):
        ex.feed(offset, b"unknown", line, 1_700_000_003.0)
    ex.feed(100, b"__tick__", b'{"tick": 1700000010}', 1_700_000_010.0)  # the last line's block is complete
    partial, _ = ex.flush()
    errors = {service: sum(w["errors"] for w in by.values()) for service, by in partial.windows.items()}
    assert errors == {"inventory": 3, "shipping": 3, "billing": 3}


def test_a_key_shared_by_services_never_counts_unparsed_lines_under_the_wrong_one():
    ex = PartitionExtractor(0, ExtractConfig())
    offset = 0
    for i in range(600):
        service = ("alpha", "beta")[i % 2]
        line = b'{"service":"%s","level":"info","msg":"ok","timestamp":%d}' % (service.encode(), 1_700_000_001 + i // 100)
        ex.feed(offset, b"host-7", line, 1_700_000_001.0 + i / 100)
        offset += 1
    partial, _ = ex.flush()
    lines = {service: sum(w["lines"] for w in by.values()) for service, by in partial.windows.items()}
    assert lines == {"alpha": 300, "beta": 300}


@pytest.mark.parametrize("line", [
    b'level=error myservice=ledger msg="not a service field"',  # `service=` inside another key
    b'level=error msg="service=ledger"x',  # inside a quoted value, not after a space
    b"level=error msg=boom",  # logfmt naming no service
])
def test_logfmt_that_names_no_service_field_falls_back_to_the_key(line):
    assert service_of_line(line, b"gateway") == "gateway"
