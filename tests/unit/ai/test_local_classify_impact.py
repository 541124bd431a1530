"""The built-in classification reads low impact as well as high (issue #13): what the
errors cost the traffic, client errors, warnings logged at level error.

The findings are the real lines of the severity set (`tests/data/severity`, provenance
there); expected severities are the set's rubric (P3 = client errors, under 1 % of
requests, noise; P2 = a real failure a share of users sees, a data store failing) and
the arithmetic of the counts against that 1 %.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from agents.local_ai.classify import classify_locally
from schemas.ai_tasks import ClassifyInput, ClassifyOutput
from schemas.records import Finding, RouteCount

SEVERITY_SET = Path(__file__).resolve().parents[2] / "data" / "severity" / "severity_set.jsonl"


@cache
def _items() -> dict[str, dict[str, Any]]:
    lines = SEVERITY_SET.read_text(encoding="utf-8").splitlines()
    return {item["id"]: item for item in map(json.loads, (line for line in lines if line.startswith("{")))}


def _finding(item_id: str, **update: Any) -> Finding:
    return Finding.model_validate({**_items()[item_id]["finding"], **update})


def _classify(finding: Finding, errors: int, lines: int, route: RouteCount | None = None,
              seen_before: int = 1) -> ClassifyOutput:
    return classify_locally(ClassifyInput(service="svc", finding=finding, window_errors=errors, window_lines=lines,
                                          route=route, seen_before=seen_before))


@pytest.mark.parametrize(("failed", "severity"), [
    (3, "P3"),  # 3 of 900: 0.33 %, below one in a hundred
    (9, "P2"),  # 9 of 900: 1 %, users notice
    (0, "P3"),  # the access log counted no failed request at all
])
def test_the_routes_failing_share_decides_an_unhandled_error(failed, severity):
    # A Rails NoMethodError on the book pages, 3 lines in a window of 3000.
    finding = _finding("ruby-books-known-low")
    out = _classify(finding, errors=3, lines=3000, route=RouteCount(requests=900, failed=failed))
    assert out.severity == severity
    if failed == 3:
        assert "3 of 900 requests to GET /books/{id} failed in one minute (0.3%)" in out.probable_cause


@pytest.mark.parametrize(("errors", "lines", "severity"), [
    (3, 1000, "P3"),  # 0.3 % of a busy minute
    (10, 1000, "P2"),  # 1 %
    (3, 100, "P2"),  # 3 %: a quiet service, the same three exceptions are a real share
])
def test_without_access_logs_the_windows_error_share_decides(errors, lines, severity):
    finding = _finding("java-3-busy", count=errors)
    out = _classify(finding, errors=errors, lines=lines, seen_before=0)
    assert out.severity == severity
    if severity == "P3":
        assert f"{errors} of the minute's {lines} lines were errors (0.3%)" in out.probable_cause


def test_a_low_share_never_lowers_a_data_store_a_crash_or_a_flood():
    # The database refusing connections fails work the lines do not count.
    refused = Finding(fingerprint="fp1:db", service="svc", error_type="psycopg2.OperationalError", level="error",
                      count=3, title="psycopg2.OperationalError: could not connect to server: Connection refused",
                      template="psycopg2.OperationalError: could not connect to server: Connection refused")
    assert _classify(refused, errors=3, lines=1000).severity == "P2"
    # A Go panic kills the process whatever the share.
    assert _classify(_finding("go-panic-once"), errors=1, lines=1000).severity == "P1"
    # 150 a minute is a flood, even in 20000 lines (0.75 %).
    assert _classify(_finding("java-3-busy", count=150), errors=150, lines=20000).severity == "P2"
    # A line that says something shut down: what stopped fails afterwards, uncounted.
    stopping = Finding(fingerprint="fp1:zk", service="svc", error_type="Exception", level="error", count=12,
                       title="Unexpected exception causing shutdown while sock still open",
                       template="Unexpected exception causing shutdown while sock still open")
    assert _classify(stopping, errors=12, lines=2000).severity == "P2"


def test_rails_routing_errors_are_client_errors_even_in_a_flood():
    # Rails answers a RoutingError with 404: 120 of them are crawlers or a stale link.
    out = _classify(_finding("rails-route-120"), errors=120, lines=3000)
    assert (out.severity, out.category) == ("P3", "http")
    assert "HTTP 4xx" in out.probable_cause


def test_nginx_missing_static_file_is_a_404():
    # nginx logs `open() ... failed (2: No such file or directory)` at level error and answers 404.
    out = _classify(_finding("nginx-favicon-known"), errors=40, lines=2000)
    assert (out.severity, out.category) == ("P3", "http")


def test_a_php_warning_relayed_by_nginx_at_level_error_is_a_warning():
    out = _classify(_finding("nginx-php-warning"), errors=30, lines=2000)
    assert out.severity == "P3"
    assert out.probable_cause.startswith("a warning or deprecation logged at level error")
    # A real PHP fatal error relayed the same way is not.
    fatal = _finding("nginx-php-warning", error_type="FastCGI sent in stderr: \"PHP message: PHP Fatal error",
                     template="FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Error: Call to "
                              "undefined function mysql_connect()",
                     title="FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Error")
    assert _classify(fatal, errors=30, lines=2000).severity == "P2"


def test_the_route_is_left_out_of_the_models_data_when_unknown():
    finding = _finding("java-3-busy")
    assert "route" not in ClassifyInput(service="svc", finding=finding).model_dump(mode="json")
    dumped = ClassifyInput(service="svc", finding=finding, route=RouteCount(requests=50, failed=0))
    assert dumped.model_dump(mode="json")["route"] == {"requests": 50, "failed": 0}
