"""A whole exception shipped as one message: one finding typed by the exception.

rsyslog (`startmsg.regex`), Vector (`multiline`) and Fluent Bit multiline parsers join
a traceback into one event; JSON encoders turn its newlines into `\\n`, and some
pipelines escape them twice, so the message arrives with real newlines or with a
literal backslash-n. The samples are the fluent-plugin-detect-exceptions files (each
one complete exception); the expected types are the ones written in them, as in
test_traces.py, where the same files arrive one line per record.
"""

from __future__ import annotations

import json

import pytest

from .conftest import DATA, T0, Driver, findings
from .test_traces import EXPECTED_TYPES

STACKS = DATA / "stacktraces"


def _stack(name: str) -> str:
    return (STACKS / name).read_text(encoding="utf-8").rstrip("\n")


def _one_finding(record: str) -> dict:
    d = Driver()
    d.feed("2024-05-01 10:00:00 INFO request started", T0)
    d.feed(record, T0 + 1)
    d.feed("2024-05-01 10:00:09 INFO next request", T0 + 9)
    d.tick(T0 + 200)
    found = findings(d.flush())
    assert len(found) == 1, [f["template"] for f in found]
    assert found[0]["count"] == 1
    return found[0]


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_real_newlines_in_one_text_record(name):
    assert _one_finding(_stack(name))["error_type"] == EXPECTED_TYPES[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_escaped_newlines_in_one_text_record(name):
    escaped = _stack(name).replace("\t", "\\t").replace("\n", "\\n")
    assert "\n" not in escaped
    assert _one_finding(escaped)["error_type"] == EXPECTED_TYPES[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_json_record_whose_message_is_the_whole_exception(name):
    record = json.dumps({"timestamp": "2024-05-01T10:00:01Z", "level": "error", "service": "api",
                         "message": _stack(name)})
    assert _one_finding(record)["error_type"] == EXPECTED_TYPES[name]


def test_an_error_line_with_its_traceback_in_one_message_names_the_request():
    # logger.exception("POST /v1/orders failed") as Vector's multiline joins it.
    message = ("2024-05-01 10:00:01,123 ERROR [orders.api] POST /v1/orders failed: could not create order\n"
               "Traceback (most recent call last):\n"
               '  File "/app/orders/api.py", line 88, in create\n'
               "    conn = pool.get()\n"
               "psycopg2.OperationalError: connection to server at \"db\" (10.0.0.5), port 5432 failed")
    found = _one_finding(message)
    assert found["error_type"] == "psycopg2.OperationalError"
    assert found["endpoint"].startswith("POST /v1/orders")


def test_prose_over_two_lines_is_not_an_exception():
    d = Driver()
    d.feed("2024-05-01 10:00:01 INFO deploy finished\nall 12 pods ready", T0 + 1)
    d.tick(T0 + 200)
    assert findings(d.flush()) == []
