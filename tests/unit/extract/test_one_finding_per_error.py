"""Issue #13: one logged error is one finding, with a type, endpoint and title people can read.

Built from the real samples in tests/data/extract (see PROVENANCE.md there): Python text
and JSON loggers, a Java stack after its ERROR line, Node (pino and a raw Node error), Go,
and nginx's "connect() failed ... while connecting to upstream". Batches are cut where a
shipper or `POST /logs` may cut them: between the error line or the traceback banner and
the rest, which arrives a second later.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from agents.extract.templates import TEMPLATE_ID, WILDCARD

from .conftest import DATA, T0, Driver, findings, sample_lines, total

STACKS = DATA / "stacktraces"


def _stack(name: str) -> list[str]:
    return (STACKS / name).read_text(encoding="utf-8").rstrip("\n").splitlines()


def _all_findings(d: Driver, partials: list) -> list[dict]:
    d.tick(T0 + 300)
    partials.append(d.flush())
    return [f for p in partials for f in findings(p)]


def _headline_then_rest_a_second_later(headline: str, rest: list[str]) -> list[dict]:
    """The error line in one batch (flushed while the watermark moves on), the rest in the next."""
    d = Driver()
    d.feed(headline, T0 + 1)
    d.feed("2026-11-24 07:25:04,000 INFO [main] c.e.Health - ok", T0 + 2, key="web")
    partials = [d.flush()]
    d.feed_all(rest, T0 + 2.1)
    return _all_findings(d, partials)


def _readable(finding: dict) -> None:
    assert not re.fullmatch(TEMPLATE_ID, finding["error_type"]), finding
    assert finding["title"] and WILDCARD not in finding["title"], finding


def test_python_logger_exception_text_is_one_finding_per_logged_error():
    d = Driver()
    d.feed_all(sample_lines("lnav/log2src_python-example.0"), T0 + 1)
    found = _all_findings(d, [])
    assert sorted(f["error_type"] for f in found) == ["ZeroDivisionError", "error message: failed to open resource"]
    assert [f["count"] for f in found] == [1, 1]
    for finding in found:
        _readable(finding)
    (zero,) = [f for f in found if f["error_type"] == "ZeroDivisionError"]
    assert zero["title"] == "ZeroDivisionError: division by zero"


def test_split_traceback_banner_then_the_rest_a_second_later_gives_no_extra_finding():
    lines = sample_lines("lnav/log2src_python-example.0")
    cut = lines.index("Traceback (most recent call last):") + 1
    d = Driver()
    partials = []
    d.feed_all(lines[:cut], T0 + 1)
    d.feed("2025-09-26 21:12:40,385 INFO other service", T0 + 2, key="web")  # the watermark moves on
    partials.append(d.flush())
    d.feed_all(lines[cut:], T0 + 2.1)
    found = _all_findings(d, partials)
    assert sorted(f["error_type"] for f in found) == ["ZeroDivisionError", "error message: failed to open resource"]
    assert sum(f["count"] for f in found) == 2


def test_a_traceback_banner_alone_is_never_a_finding():
    d = Driver()
    partials = []
    d.feed("Traceback (most recent call last):", T0 + 1)
    d.tick(T0 + 30)
    partials.append(d.flush())
    d.feed_all(_stack("python_exc.log")[1:], T0 + 40)  # the rest, much later: its own finding
    found = _all_findings(d, partials)
    assert [(f["error_type"], f["count"]) for f in found] == [("Exception", 1)]


def test_json_error_record_then_its_text_traceback_is_one_finding_typed_by_the_exception():
    d = Driver()
    d.feed('{"time": "2023-11-14T22:14:01Z", "level": "ERROR", "service": "api",'
           ' "msg": "POST /v1/orders/4548 failed: could not create order"}', T0 + 1)
    d.feed_all(_stack("python_exc.log"), T0 + 1.01)
    (finding,) = _all_findings(d, [])
    assert (finding["error_type"], finding["endpoint"], finding["count"]) == ("Exception", "POST /v1/orders/{id}", 1)
    assert finding["title"] == "Exception: ('spam', 'eggs')"


def test_json_error_record_and_a_traceback_in_the_next_batch_are_counted_once():
    found = _headline_then_rest_a_second_later(
        '{"level": "error", "service": "api", "msg": "POST /v1/orders/4548 failed: could not create order"}',
        _stack("python_exc.log"))
    assert [(f["error_type"], f["endpoint"], f["count"]) for f in found] == [
        ("could not create order", "POST /v1/orders/{id}", 1)]
    assert found[0]["title"] == "POST /v1/orders/4548 failed: could not create order"


def test_python_json_logger_with_exc_info_is_one_finding():
    d = Driver()
    d.feed_all(sample_lines("python_json/k8s-sidecar_python314_json_traceback.jsonl"), T0 + 1)
    (finding,) = _all_findings(d, [])
    assert finding["error_type"] == "FileNotFoundError" and finding["count"] == 1
    assert finding["title"].startswith("FileNotFoundError: [Errno 2] No usable temporary directory found")


def test_a_json_path_field_that_is_a_source_file_is_no_endpoint():
    d = Driver()
    d.feed_all(sample_lines("python_json/azureml_gunicorn_json_error.jsonl"), T0 + 1)
    (finding,) = _all_findings(d, [])
    assert (finding["error_type"], finding["endpoint"]) == ("ImportError", "")


def test_java_error_line_then_its_stack_a_second_later_is_one_finding():
    found = _headline_then_rest_a_second_later(
        "2026-11-24 07:25:03,123 ERROR [http-nio-8080-exec-3] c.e.orders.OrderController"
        " - POST /v1/orders failed: could not create order", _stack("complex_java_exc.log"))
    assert [(f["error_type"], f["endpoint"], f["count"]) for f in found] == [
        ("javax.servlet.ServletException", "POST /v1/orders", 1)]
    _readable(found[0])


def test_node_pino_record_then_a_raw_node_error_is_one_finding():
    d = Driver()
    d.feed_all(sample_lines("nodejs/rocketchat_pino_plus_raw_node_error.log"), T0 + 1)
    (finding,) = _all_findings(d, [])
    assert (finding["error_type"], finding["count"]) == ("Error", 1)
    assert finding["title"].startswith("Error: ENOENT: no such file or directory")


def test_pino_error_with_its_stack_in_the_record_is_one_finding():
    d = Driver()
    d.feed_all(sample_lines("nodejs/rocketchat_pino_error_duplicate_msg_key.jsonl"), T0 + 1)
    (finding,) = _all_findings(d, [])
    assert (finding["error_type"], finding["count"]) == ("Error", 1)
    _readable(finding)


def test_go_panic_after_an_error_line_is_one_finding():
    found = _headline_then_rest_a_second_later("2026/11/24 07:25:03 ERROR GET /v1/carts/77 failed",
                                               _stack("go_exc.log"))
    assert [(f["error_type"], f["endpoint"], f["count"]) for f in found] == [("panic", "GET /v1/carts/{id}", 1)]


def test_nginx_upstream_refused_is_typed_by_its_words_with_its_route():
    d = Driver()
    d.feed_all(sample_lines("nginx_captured/fixmystreet_docker_compose_nginx_502_excerpt.log"), T0 + 1, key="nginx")
    found = _all_findings(d, [])
    refused = [f for f in found if f["error_type"] == "upstream connection refused"]
    assert sorted(f["endpoint"] for f in refused) == ["GET /", "GET /favicon.ico", "GET /service-worker.js"]
    assert all(f["title"].startswith("connect() failed (111: Connection refused) while connecting to upstream")
               for f in refused)
    statuses = [f for f in found if f["error_type"] == "HTTP 502"]
    assert sorted(f["title"] for f in statuses) == [
        "GET / returned 502", "GET /favicon.ico returned 502", "GET /service-worker.js returned 502"]
    for finding in found:
        _readable(finding)


# The header a file or shipper puts before every line of a traceback: the frames and the
# source lines under them ("    raise Exception(...)") come after it, and must join the
# error line they belong to like bare lines do (`docker compose logs`, syslog files and
# forwarders). (key, info header, error header)
_HEADERS = {
    "docker compose": ("shop-1", "shop-1  | ", "shop-1  | "),
    "syslog RFC 3164": ("shop", "<14>Nov 14 22:14:01 host1 shop[42]: ", "<11>Nov 14 22:14:01 host1 shop[42]: "),
    "syslog file": ("shop", "Nov 14 22:14:01 host1 shop[42]: ", "Nov 14 22:14:01 host1 shop[42]: "),
    "rsyslog file format": ("shop", "2023-11-14T22:14:01.000+00:00 host1 shop[42]: ",
                            "2023-11-14T22:14:01.000+00:00 host1 shop[42]: "),
    "syslog RFC 5424": ("shop", "<14>1 2023-11-14T22:14:01Z host1 shop 42 - - ",
                        "<11>1 2023-11-14T22:14:01Z host1 shop 42 - - "),
    "container runtime (CRI)": ("shop", "2023-11-14T22:14:01.505201169Z stdout F ",
                                "2023-11-14T22:14:01.505201169Z stderr F "),
}


@pytest.mark.parametrize("form", sorted(_HEADERS))
def test_a_traceback_behind_a_line_header_keeps_every_line_in_its_sample(form):
    key, info, error = _HEADERS[form]
    trace = _stack("python_exc.log")  # 8 lines: banner, 3 frames each with its source line, exception
    d = Driver()
    # Lines before it: the service is known from its key, its lines counted the short way.
    d.feed_all([f"{info}2023-11-14 22:14:00,{ms:03d} INFO [shop.api] GET /health 200" for ms in range(5)], T0 + 1,
               key=key)
    d.feed(f"{error}2023-11-14 22:14:01,000 ERROR [shop.api] POST /v1/orders/7 failed", T0 + 2, key=key)
    d.feed_all([f"{error}{line}" for line in trace], T0 + 2.001, key=key)
    d.feed(f"{info}2023-11-14 22:14:03,000 INFO [shop.api] GET /health 200", T0 + 3, key=key)
    (finding,) = _all_findings(d, [])
    assert finding["error_type"] == "Exception"
    sample = finding["samples"][0].splitlines()
    assert sample[0].endswith("POST /v1/orders/7 failed")
    assert [line.strip() for line in sample[1:]] == [line.strip() for line in trace]


def test_a_traceback_that_rsyslog_wrote_line_by_line_is_one_finding_with_its_source_lines():
    # Each line of the traceback a syslog message of its own, as rsyslogd wrote them.
    lines = sample_lines("rsyslog/fileformat_python_traceback.log")
    d = Driver()
    d.feed_all(lines, T0 + 1, key="shop")
    (finding,) = _all_findings(d, [])
    assert finding["error_type"] == "ConnectionError"
    assert finding["samples"][0].splitlines() == [
        "POST /v1/orders/7 failed",
        "Traceback (most recent call last):",
        '  File "/srv/shop/api/views.py", line 88, in create_order',
        "    charge = gateway.charge(order, card_token)",
        "ConnectionError: payment gateway unreachable",
    ]


def test_an_error_line_and_the_exception_it_logged_through_a_container_runtime_are_one_finding():
    # The exception line has no time of its own; the runtime stamps one on every line.
    d = Driver()
    d.feed_all([f"2023-11-14T22:14:0{i}.000000000Z stdout F 2023-11-14 22:14:0{i},000 INFO [shop.api] GET /health 200"
                for i in range(3)], T0 + 1, key="shop")
    d.feed("2023-11-14T22:14:04.100000000Z stderr F 2023-11-14 22:14:04,100 ERROR [shop.api] POST /v1/orders/7 failed",
           T0 + 4, key="shop")
    d.feed("2023-11-14T22:14:04.101000000Z stderr F psycopg2.OperationalError: could not connect to server",
           T0 + 4.001, key="shop")
    (finding,) = _all_findings(d, [])
    assert finding["error_type"] == "psycopg2.OperationalError"
    assert finding["samples"][0].splitlines() == ["POST /v1/orders/7 failed",
                                                  "psycopg2.OperationalError: could not connect to server"]


def test_an_error_line_and_its_exception_that_rsyslog_wrote_as_two_messages_are_one_finding():
    # The exception line has no header of its own: syslog's time on it does not make it one.
    d = Driver()
    d.feed_all(sample_lines("rsyslog/fileformat_error_then_exception.log"), T0 + 1, key="payments")
    (finding,) = _all_findings(d, [])
    assert finding["error_type"] == "psycopg2.OperationalError"
    assert finding["samples"][0].splitlines() == [
        "POST /v1/payments/1197 failed", "psycopg2.OperationalError: could not connect to server: Connection refused"]


def test_two_announced_crashes_ten_seconds_apart_in_one_batch_are_two_errors():
    """Dart prints "Unhandled exception:" and names the exception on the next line. Two
    such crashes of one service, ten seconds apart with ordinary lines between and no
    flush between them (one batch): the second header line, with its own time, starts an
    error of its own; its first words ("Unhandled") once made it a line of the first."""
    d = Driver()
    for n in range(300):
        at = T0 + n * 0.1
        stamp = datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        if n in (20, 120):
            d.feed(f"{stamp} ERROR [main] Unhandled exception:", at)
        elif n in (21, 121):
            d.feed("Out of Memory", at)
        else:
            d.feed(f"{stamp} INFO [main] job done", at)
    d.tick(T0 + 300)
    partial = d.flush()
    assert total(partial, "errors") == 2
    assert all(f["samples"][0] == "Unhandled exception:\nOut of Memory" for f in findings(partial))
