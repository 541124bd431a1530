"""Severity from impact (issue #13): expected values from the rules' arithmetic and
their documented defaults (`SeverityRules`), on findings as extraction makes them."""

from __future__ import annotations

import pytest

from agents.incidents.config import IncidentsConfig
from agents.incidents.impact import SeverityRules, Traffic, impact_floor
from schemas.records import Finding

RULES = SeverityRules()


def _finding(error_type: str = "psycopg2.OperationalError", endpoint: str = "POST /v1/orders", count: int = 21,
             level: str = "error", title: str = "psycopg2.OperationalError: could not connect to server: "
                                                 "Connection refused") -> Finding:
    return Finding(fingerprint="fp1:x", service="orders", endpoint=endpoint, error_type=error_type, level=level,
                   count=count, template=title, title=title)


def test_every_write_failing_on_a_refused_database_is_p1():
    # The case: order creation failed for five minutes, the database refused connections.
    impact = impact_floor(_finding(), Traffic(errors=21, lines=900), RULES)
    assert impact.severity == "P1" and "every write to POST /v1/orders fails" in impact.reason


def test_the_same_refusals_on_a_read_path_are_left_to_the_classification():
    assert impact_floor(_finding(endpoint="GET /v1/orders/{id}"), Traffic(errors=21, lines=900), RULES).severity == ""


def test_below_the_count_the_write_rule_does_not_fire():
    assert impact_floor(_finding(count=4), Traffic(errors=4, lines=900), RULES).severity == ""


@pytest.mark.parametrize(("endpoint", "requests", "failed", "severity"), [
    ("POST /v1/orders", 40, 20, "P1"),   # 50 % of writes: outage of a write path
    ("GET /v1/orders", 40, 20, "P2"),    # 50 % of reads: degraded, retryable
    ("GET /v1/orders", 400, 4, "P2"),    # 1 %: users notice
    ("GET /v1/orders", 400, 3, ""),      # 0.75 %: left to the classification
    ("POST /v1/orders", 4, 4, ""),       # 4 requests: too few to call a share
])
def test_endpoint_share_from_access_logs(endpoint, requests, failed, severity):
    finding = _finding(error_type="HTTP 502", endpoint=endpoint, title=f"{endpoint} returned 502", count=failed)
    impact = impact_floor(finding, Traffic(errors=failed, lines=5000, endpoint_requests=requests,
                                           endpoint_failed=failed), RULES)
    assert impact.severity == severity


def test_whole_service_failing_is_p1():
    finding = _finding(error_type="ReferenceError", endpoint="", title="ReferenceError: myArray is not defined")
    assert impact_floor(finding, Traffic(errors=10, lines=20), RULES).severity == "P1"  # 50 %, 10 errors
    assert impact_floor(finding, Traffic(errors=9, lines=10), RULES).severity == ""  # 9 errors: below the minimum
    assert impact_floor(finding, Traffic(errors=10, lines=21), RULES).severity == ""  # 47.6 %


@pytest.mark.parametrize(("error_type", "title", "severity"), [
    ("panic", "panic: my panic", "P1"),  # go_exc.log: the process died
    ("panic", "http: panic serving [::1]:54143: test panic", ""),  # go_http.log: net/http recovered it
    ("java.lang.OutOfMemoryError", "java.lang.OutOfMemoryError: Java heap space", "P1"),
    ("ValueError", "ValueError: invalid literal for int()", ""),
])
def test_a_crash_is_p1(error_type, title, severity):
    finding = _finding(error_type=error_type, endpoint="", title=title, count=1)
    assert impact_floor(finding, Traffic(), RULES).severity == severity


def test_fatal_levels_and_configuration():
    fatal = _finding(endpoint="", level="fatal", count=1, error_type="shoot", title="shoot")
    assert impact_floor(fatal, Traffic(), RULES).severity == "P1"
    assert impact_floor(fatal, Traffic(), SeverityRules(fatal_levels=[])).severity == ""
    cfg = IncidentsConfig.model_validate({"severity": {"endpoint_min_requests": 3, "crash_is_p1": False}})
    assert cfg.severity.endpoint_min_requests == 3 and cfg.severity.crash_is_p1 is False
    with pytest.raises(ValueError):
        IncidentsConfig.model_validate({"severity": {"outage_error_share": 1.5}})


@pytest.mark.parametrize(("endpoint", "requests", "failed", "reason"), [
    ("POST /v1/orders", 50, 40, "40 of 50 requests to POST /v1/orders failed in one minute (80%, write path)"),
    ("GET /books/{id}", 900, 3, "3 of 900 requests to GET /books/{id} failed in one minute (0.3%, read path)"),
    ("GET /", 10000, 2, "2 of 10000 requests to GET / failed in one minute (0.02%, read path)"),  # never "0%"
])
def test_the_endpoint_reason_reads_as_arithmetic(endpoint, requests, failed, reason):
    finding = _finding(error_type="HTTP 500", endpoint=endpoint, title=f"{endpoint} returned 500", count=failed)
    impact = impact_floor(finding, Traffic(errors=failed, lines=20000, endpoint_requests=requests,
                                           endpoint_failed=failed), RULES)
    assert impact.reason == reason
