"""An error line that announces an exception, then the exception: one finding.

Shape written by Python's logging, logback and most frameworks: "<time> ERROR [logger]
POST /v1/x failed" and, on the following records without a timestamp, the exception
and its frames. The finding takes its endpoint from the headline and its type, template
and fingerprint from the exception.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from agents.extract.templates import TEMPLATE_ID
from streams.demo import scenario

from .conftest import DATA, T0, Driver, findings
from .test_traces import EXPECTED_TYPES

STACKS = DATA / "stacktraces"
HEADLINE = "2026-11-24 07:25:03,123 ERROR [orders.api] GET /v1/orders/{order} failed"
# Files whose first line has a timestamp of its own (java_exc.log, go_http.log) are
# events of their own, not the continuation of a headline.
WITH_OWN_TIMESTAMP = {"java_exc.log", "go_http.log"}
ANNOUNCED = sorted(set(EXPECTED_TYPES) - WITH_OWN_TIMESTAMP)


def _stack(name: str) -> list[str]:
    return (STACKS / name).read_text(encoding="utf-8").rstrip("\n").splitlines()


def _feed_announced(d: Driver, name: str, at: float, order: int) -> None:
    d.feed(HEADLINE.format(order=order), at)
    d.feed_all(_stack(name), at)
    d.feed("2026-11-24 07:25:09,000 INFO [orders.api] GET /v1/orders/1 200", at + 5)


@pytest.mark.parametrize("name", ANNOUNCED)
def test_headline_and_exception_are_one_finding_with_endpoint_and_type(name):
    d = Driver()
    _feed_announced(d, name, T0 + 1, order=4548)
    d.tick(T0 + 200)
    found = findings(d.flush())
    assert len(found) == 1, [(f["error_type"], f["template"]) for f in found]
    finding = found[0]
    assert finding["error_type"] == EXPECTED_TYPES[name]
    assert finding["endpoint"] == "GET /v1/orders/{id}"
    # The sample is the whole block, headline first, cut at sample_chars.
    sample = finding["samples"][0]
    stack = _stack(name)
    assert sample.startswith("GET /v1/orders/4548 failed\n" + stack[0][:20])
    assert stack[-1] in sample or len(sample) == d.cfg.sample_chars


@pytest.mark.parametrize("name", ["complex_java_exc.log", "python_exc.log", "csharp_exc.log", "go_exc.log",
                                  "node_js_exc.log", "ruby_exc.log"])
def test_the_same_exception_under_other_ids_keeps_its_fingerprint(name):
    d = Driver()
    _feed_announced(d, name, T0 + 1, order=4548)
    _feed_announced(d, name, T0 + 20, order=91)
    d.tick(T0 + 200)
    found = findings(d.flush())
    assert [f["count"] for f in found] == [2]


def test_an_exception_line_with_its_own_timestamp_is_another_event():
    d = Driver()
    d.feed("2026-11-24 07:25:03,123 ERROR [orders.api] GET /v1/orders/1 failed", T0 + 1)
    d.feed("2026-11-24 07:25:03,124 ERROR [orders.db] ValueError: bad row", T0 + 1)
    d.tick(T0 + 200)
    assert len(findings(d.flush())) == 2


def test_two_exceptions_in_a_row_are_not_joined():
    d = Driver()
    d.feed_all(["ValueError: first", "KeyError: 'second'"], T0 + 1, step=0.5)
    d.tick(T0 + 200)
    assert sorted(f["template"] for f in findings(d.flush())) == ["KeyError: 'second'", "ValueError: first"]


def test_a_dotted_exception_type_stays_readable_in_the_template():
    d = Driver()
    d.feed_all(["2026-11-24 07:25:03,123 ERROR [payments.api] POST /v1/payments/7 failed",
                "Traceback (most recent call last):",
                '  File "/srv/payments/db/pool.py", line 41, in connect',
                "    return psycopg2.connect(dsn, connect_timeout=3)",
                "psycopg2.OperationalError: could not connect to server: Connection refused"], T0 + 1)
    d.tick(T0 + 200)
    (finding,) = findings(d.flush())
    assert finding["template"] == "psycopg2.OperationalError: could not connect to server: Connection refused"


def _demo_findings() -> dict[tuple[str, int], list[dict]]:
    t0 = T0
    d = Driver()
    for _minute, service, line, ts in scenario(t0):
        d.feed(line, ts, key=service)
    d.tick(t0 + 30 * 60)
    partial = d.flush()
    per_minute: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for service, by_start in partial.windows.items():
        for start, window in by_start.items():
            per_minute[(service, int((float(start) - t0) // 60))].extend(window["findings"])
    return per_minute


def test_demo_scenario_minute_by_minute():
    per_minute = _demo_findings()
    for minute in range(4, 10):
        found = per_minute[("payments", minute)]
        exceptions = [f for f in found if f["error_type"] == "psycopg2.OperationalError"]
        assert [(f["count"], f["endpoint"], f["level"]) for f in exceptions] == [(8, "POST /v1/payments/{id}", "error")]
        others = [f for f in found if f not in exceptions]
        if minute == 6:
            assert [(f["level"], f["count"]) for f in others] == [("critical", 1)]
            assert others[0]["template"] == "connection pool exhausted (size=<*>), rejecting requests"
        else:
            assert others == []
    # One fingerprint for the whole outage: the incident sees one recurring error.
    assert len({f["fingerprint"] for m in range(4, 10) for f in per_minute[("payments", m)]
                if f["error_type"] == "psycopg2.OperationalError"}) == 1
    for minute in (1, 2, 20):
        assert [(f["error_type"], f["endpoint"]) for f in per_minute[("search", minute)]] == [("HTTP 504", "GET /api/search")]
    (coupon,) = per_minute[("checkout", 12)]
    # Issue #13: a line without an exception class is typed by its words, never a template id.
    assert coupon["error_type"] == "unexpected coupon format" and coupon["template"] == "unexpected coupon format"
    assert not re.fullmatch(TEMPLATE_ID, coupon["error_type"])
    quiet = {key for key, found in per_minute.items() if found} - {
        *(("payments", m) for m in range(4, 10)), *(("search", m) for m in (1, 2, 20)), ("checkout", 12)}
    assert quiet == set()


def test_template_findings_carry_a_readable_template_and_a_stable_id():
    d = Driver()
    d.feed('{"level": "error", "msg": "payment declined for order 8812"}', T0 + 1)
    d.feed('{"level": "error", "msg": "payment declined for order 17"}', T0 + 2)
    d.feed('{"level": "error", "code": 17}', T0 + 3)
    d.tick(T0 + 200)
    found = {f["template"]: f for f in findings(d.flush())}
    assert set(found) == {"payment declined for order <*>", "(error without a message)"}
    declined = found["payment declined for order <*>"]
    assert declined["count"] == 2 and declined["error_type"] == "payment declined"  # issue #13: the value's phrase goes with it
    assert declined["title"] == "payment declined for order 8812"
    assert not re.fullmatch(TEMPLATE_ID, "psycopg2.OperationalError") and not re.fullmatch(TEMPLATE_ID, "HTTP 503")
