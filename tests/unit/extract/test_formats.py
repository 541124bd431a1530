"""One test per input format, on the real samples (filebeat expected output is ground truth)."""

from __future__ import annotations

import json

import orjson
import pytest

from agents.extract.formats import normalise_level, parse_json_object, parse_text
from agents.extract.config import DEFAULT_SERVICE_FIELDS

from .conftest import DATA, T0, Driver, findings, sample_lines, total

REF = 1_700_000_000.0
FIELDS = list(DEFAULT_SERVICE_FIELDS)


def _expected(relative: str) -> list[dict]:
    return json.loads((DATA / relative).read_text(encoding="utf-8"))


def _lines_at_offsets(relative: str, expected: list[dict]) -> list[str]:
    """The log line each expected event starts at (filebeat `log.offset` is a byte offset)."""
    data = (DATA / relative).read_bytes()
    return [data[e.get("log.offset", e.get("offset", 0)):].split(b"\n", 1)[0].decode() for e in expected]


def test_nginx_error_log_matches_filebeat_levels_and_messages():
    expected = _expected("filebeat/nginx/error.log-expected.json")
    lines = _lines_at_offsets("filebeat/nginx/error.log", expected)
    for line, truth in zip(lines, expected):
        parsed = parse_text(line, REF)
        assert parsed.level == normalise_level(truth["log.level"])
        assert parsed.message.startswith(truth["message"][:60])


def test_nginx_error_log_endpoint_comes_from_the_request_field():
    parsed = parse_text(sample_lines("filebeat/nginx/error.log")[0], REF)
    assert (parsed.method, parsed.path) == ("GET", "/favicon.ico")


def test_apache_error_log_levels_match_filebeat():
    expected = _expected("filebeat/apache/error-test.log-expected.json")
    lines = _lines_at_offsets("filebeat/apache/error-test.log", expected)
    for line, truth in zip(lines, expected):
        assert parse_text(line, REF).level == normalise_level(truth["log.level"]), line


def test_mysql_levels_match_filebeat():
    lines = [l for l in sample_lines("filebeat/mysql/mysql-ubuntu-8.0.15.log") if l[:4].isdigit()]
    expected = _expected("filebeat/mysql/mysql-ubuntu-8.0.15.log-expected.json")
    levels = {normalise_level(e["log.level"]) for e in expected}
    parsed = [parse_text(l, REF) for l in lines]
    assert {p.level for p in parsed} <= levels | {"info"}
    assert [p.level for p in parsed].count("warning") == [normalise_level(e["log.level"]) for e in expected].count("warning")
    assert all(p.service == "mysql" for p in parsed)


def test_redis_log_matches_filebeat():
    line = sample_lines("filebeat/redis/redis-5.0.3.log")[0]
    truth = _expected("filebeat/redis/redis-5.0.3.log-expected.json")[0]
    parsed = parse_text(line, REF)
    assert parsed.message == truth["redis.log.message"]
    assert parsed.level == "info"  # notice
    assert parsed.service == "redis"


def test_postgresql_csvlog_fatal_is_an_error_signal():
    parsed = [parse_text(l, REF) for l in sample_lines("filebeat/postgresql/postgresql-13-error-code.csv.log")]
    fatal = [p for p in parsed if p.level == "fatal"]
    assert len(fatal) == 1
    assert fatal[0].message == "terminating connection due to idle-in-transaction timeout"


def test_postgresql_stderr_log_is_parsed_with_time_and_level():
    parsed = parse_text(sample_lines("filebeat/postgresql/postgresql-9.6-debian-with-slowlog.log")[0], REF)
    assert parsed.level == "info"
    assert parsed.message.startswith("database system was shut down")
    assert parsed.timestamp is not None


def test_nginx_access_log_status_and_route_match_filebeat():
    expected = _expected("filebeat/nginx/access-test.log-expected.json")
    lines = _lines_at_offsets("filebeat/nginx/access-test.log", expected)
    for line, truth in zip(lines, expected):
        parsed = parse_text(line, REF)
        assert parsed.status == truth["http.response.status_code"], line
        assert parsed.method == truth.get("http.request.method", "")


def test_access_log_5xx_becomes_http_finding_with_normalised_endpoint():
    lines = sample_lines("nginx_captured/fixmystreet_docker_compose_nginx_502_excerpt.log")
    d = Driver()
    d.feed_all(lines, T0, key=None)
    d.tick(T0 + 120)
    found = findings(d.flush())
    http = [f for f in found if f["error_type"] == "HTTP 502"]
    assert http and all(f["endpoint"].startswith("GET /") for f in http)
    assert {f["service"] for f in found} == {"nginx-1"}  # docker compose prefix names the service


def test_apache_combined_access_log_has_three_500s():
    lines = (DATA.parent / "extract" / "lnav" / "logfile_access_log.0").read_text().splitlines()
    statuses = [parse_text(l, REF).status for l in lines]
    assert all(s > 0 for s in statuses)


def test_syslog_rfc3164_takes_app_name_as_service():
    parsed = parse_text(sample_lines("lnav/logfile_syslog.0")[0], REF)
    assert parsed.service == "automount"
    assert parsed.host == "veridian"
    assert parsed.message == "lookup(file): lookup for foobar failed"


def test_syslog_rfc5424_severity_number_sets_the_level():
    # rsyslog forwarding format (RFC 5424 example 1, severity 2 = critical)
    line = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8"
    parsed = parse_text(line, REF)
    assert (parsed.level, parsed.service, parsed.host) == ("critical", "su", "mymachine.example.com")
    assert parsed.timestamp == pytest.approx(1065910455.003)


def test_logfmt_levels_and_messages():
    parsed = [parse_text(l, REF) for l in sample_lines("lnav/logfile_logfmt.0")]
    assert parsed[0].level == "error"
    assert parsed[0].message.startswith("error retrieving pod status")
    assert parsed[1].level == "warning"


def test_pino_numeric_levels():
    records = [orjson.loads(l) for l in sample_lines("nodejs/rocketchat_pino_error_duplicate_msg_key.jsonl")]
    records.append(orjson.loads(sample_lines("nodejs/rocketchat_pino_plus_raw_node_error.log")[0]))
    parsed = [parse_json_object(r, REF, FIELDS) for r in records]
    assert parsed[0].level == "error"  # 50
    assert parsed[1].level == "info"  # 30
    assert "Error: failed [400]" in parsed[0].exception


def test_bunyan_lines_take_service_from_name_and_numeric_level():
    parsed = [parse_json_object(orjson.loads(l), REF, FIELDS) for l in sample_lines("lnav/logfile_bunyan.0")]
    assert parsed[0].service == "renovate"
    assert parsed[0].level == "debug"  # 20


def test_pino_with_otel_flat_service_name():
    parsed = parse_json_object(orjson.loads(sample_lines("lnav/logfile_pino.0")[0]), REF, FIELDS)
    assert parsed.service == "payment"
    assert parsed.timestamp == pytest.approx(1745532517.537)


def test_zap_console_error_line():
    parsed = [parse_text(l, REF) for l in sample_lines("lnav/logfile_zap_console.0")]
    assert parsed[1].level == "error"


def test_python_json_logger_with_exc_info_is_one_exception_finding():
    d = Driver()
    d.feed_all(sample_lines("python_json/k8s-sidecar_python314_json_traceback.jsonl"), T0, key=b"sidecar")
    d.tick(T0 + 120)
    found = findings(d.flush())
    assert [f["error_type"] for f in found] == ["FileNotFoundError"]


def test_gunicorn_json_without_level_is_an_error_from_its_traceback():
    d = Driver()
    d.feed_all(sample_lines("python_json/azureml_gunicorn_json_error.jsonl"), T0, key=b"scoring")
    d.tick(T0 + 120)
    found = findings(d.flush())
    assert len(found) == 1
    assert found[0]["error_type"]  # the exception class, not empty


def test_vector_kubernetes_record_service_from_labels_and_mapping():
    from agents.extract.config import ExtractConfig
    record = {"message": "boom: database unavailable", "timestamp": "2024-05-01T10:00:01Z", "level": "error",
              "kubernetes": {"pod_name": "checkout-7d9", "container_name": "app",
                             "labels": {"app.kubernetes.io/name": "checkout-api"}}}
    d = Driver(ExtractConfig(service_map={"checkout-api": "checkout"}))
    d.feed(orjson.dumps(record), 1714557601.5, key=None)
    d.tick(1714557601.5 + 120)
    partial = d.flush()
    assert list(partial.windows) == ["checkout"]
    assert total(partial, "errors") == 1


def test_unknown_service_when_nothing_names_it():
    d = Driver()
    d.feed("2024-05-01 10:00:00 ERROR something broke", T0, key=None)
    assert list(d.flush().windows) == ["unknown"]


def test_docker_compose_json_lines_take_the_compose_service():
    parsed = [parse_text(l, REF) for l in sample_lines("lnav/logfile_caddy_log.0")]
    assert {p.service for p in parsed} == {"caddy"}
    assert parsed[0].level == "info"
    assert parsed[0].message == "maxprocs: Leaving GOMAXPROCS=12: CPU quota undefined"


def test_json_request_log_with_5xx_status_is_an_http_finding_whatever_its_level():
    d = Driver()
    d.feed(orjson.dumps({"level": 30, "time": int(T0 * 1000) + 5, "msg": "request completed",
                         "req": {"method": "GET", "url": "/orders/981/items?x=1"}, "res": {"statusCode": 503}}), T0 + 5)
    d.tick(T0 + 120)
    (finding,) = findings(d.flush())
    assert (finding["error_type"], finding["endpoint"]) == ("HTTP 503", "GET /orders/{id}/items")


def test_rsyslog_file_format_names_app_host_and_time():
    # Written by rsyslogd with RSYSLOG_FileFormat (tests/data/extract/PROVENANCE.md).
    first = sample_lines("rsyslog/fileformat_python_traceback.log")[1]
    parsed = parse_text(first, REF)
    assert (parsed.service, parsed.host) == ("shop", "vm")
    assert parsed.message == "POST /v1/orders/7 failed"  # the application's own header read too
    assert (parsed.level, parsed.logger) == ("error", "shop.api")
    assert parsed.timestamp == 1796330780.0  # 2026-12-03T20:46:20+00:00


def test_an_iso_timestamp_then_a_level_is_no_syslog_line():
    # Rust tracing-subscriber (a line of its documented example output): one space after
    # the time, then "target: message", as a syslog file has "host app: msg".
    line = "2022-02-15T18:44:24.535442Z TRACE fmt_pretty::yak_shave: hello! I'm gonna shave a yak, excitement: \"yay!\""
    parsed = parse_text(line, REF)
    assert parsed.level == "debug"  # trace, the lowest level this project knows
    assert parsed.host == "" and "hello! I'm gonna shave a yak" in parsed.message
    error = parse_text(line.replace(" TRACE ", " ERROR ").replace("hello!", "connection refused:"), REF)
    assert error.level == "error"
    from agents.service_name import text_service

    assert text_service(line) == ""  # no host, no app: the record's key or the default names it


def test_container_runtime_lines_cri_o_and_containerd():
    # The inputs and expected fields of OpenTelemetry Collector's container parser tests
    # (pkg/stanza/operator/parser/container/parser_test.go): CRI-O with a zone offset,
    # containerd in UTC; body, stream and time.
    crio = parse_text("2024-04-13T07:59:37.505201169-10:00 stdout F standalone crio line which is awesome!", REF)
    assert (crio.message, crio.stream) == ("standalone crio line which is awesome!", "stdout")
    assert crio.timestamp == pytest.approx(1713031177.505201169)  # 17:59:37.505201169 UTC
    containerd = parse_text("2024-04-13T07:59:37.505201169Z stdout F standalone containerd line which is awesome!", REF)
    assert containerd.message == "standalone containerd line which is awesome!"
    assert containerd.timestamp == pytest.approx(1712995177.505201169)
    # The line a container wrote keeps its own level and time.
    error = parse_text("2024-04-13T07:59:37.505201169Z stderr F 2024-04-13 07:59:37,505 ERROR [shop.api] "
                       "POST /v1/orders/7 failed", REF)
    assert (error.level, error.stream, error.message) == ("error", "stderr", "POST /v1/orders/7 failed")
    assert error.timestamp == pytest.approx(1712995177.505201169)  # the runtime's, with its zone


def _record_objects() -> list[dict]:
    """JSON objects written by others (filebeat's expected events, lnav's, python-json-logger,
    pino, webhook payloads, the ECS fields of the severity set) and each one's keys in
    reverse order, so the same keys come in two shapes."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "data"
    objects: list[dict] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            objects.append(value)
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for path in sorted(root.rglob("*.json*")):
        text = path.read_text(errors="replace")
        try:
            walk(json.loads(text))
        except json.JSONDecodeError:
            for line in text.splitlines():
                try:
                    walk(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return objects + [dict(reversed(list(obj.items()))) for obj in objects]


def test_parse_json_object_reads_each_record_as_field_by_field():
    """`parse_json_object` looks each field up only under the keys the record's shape can
    fill (worked out once per shape): over thousands of real records, the same line as
    looking every field up in full (`_first`)."""
    from agents.extract import formats as F

    def reference(obj: dict) -> F.LogLine:
        message = F._first(obj, F._MESSAGE)
        if isinstance(message, dict):
            message = message.get("message") or ""
        text = message if isinstance(message, str) else ("" if message is None else str(message))
        exception = F._first(obj, F._EXCEPTION)
        if isinstance(exception, dict):
            exception = exception.get("traceback") or exception.get("value") or ""
        if exception is not None and not isinstance(exception, str):
            exception = str(exception)
        method, path, status = F.request_fields(obj)
        error_class = (F._error_class_of(obj, F._ERROR_CLASS.entries)
                       if not obj.keys().isdisjoint(F._ERROR_CLASS.keys) else "")
        line = F.LogLine(message=text, level=F.json_level(obj), timestamp=F.json_time(obj, 1.7e9),
                         service=F.field_service(obj, ["service"]), host=F._text(F._first(obj, F._HOST)),
                         stream=F._text(F._first(obj, F._STREAM)), logger=F._text(F._first(obj, F._LOGGER)),
                         method=method, path=path, status=status, exception=exception or "", error_class=error_class,
                         fields=obj)
        if not line.level and text:
            inner = F.parse_text(text, 1.7e9)
            line.level = inner.level
            line.timestamp = line.timestamp if line.timestamp is not None else inner.timestamp
            line.method, line.path, line.status = (line.method or inner.method, line.path or inner.path,
                                                   line.status or inner.status)
            line.message = inner.message
            line.service = line.service or inner.service
        return line

    objects = _record_objects()
    assert len(objects) > 1000
    F._RECORD_SHAPES.clear()
    mismatched = [obj for obj in objects if F.parse_json_object(obj, 1.7e9, ["service"]) != reference(obj)]
    assert mismatched == []
    assert len(F._RECORD_SHAPES) > 50
