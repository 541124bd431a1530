"""POST /logs: JSON array, NDJSON, text lines; the service of each line by the shared rule."""

from __future__ import annotations

import orjson

from agents.gateway.config import GatewayConfig, SourceAuth
from agents.gateway.intake import parse_log_intake
from tests.unit.gateway.conftest import NOW

NDJSON = {"Content-Type": "application/x-ndjson"}


def test_json_array_keys_each_line_by_its_service(cfg):
    body = orjson.dumps([{"service": "checkout", "level": "error", "msg": "boom"},
                         {"msg": "no service here"}, "plain text line"])
    outcome = parse_log_intake({"Content-Type": "application/json", "X-Logwarden-Service": "web"}, body, cfg, now=NOW)
    assert outcome.status == 202
    assert [k for k, _ in outcome.records] == [b"checkout", b"web", b"web"]
    assert orjson.loads(outcome.records[0][1])["msg"] == "boom"
    assert outcome.records[2][1] == b"plain text line"
    assert outcome.body["lines"] == 3


def test_ndjson_with_ecs_service_and_query_param(cfg):
    body = b'{"service": {"name": "auth"}, "message": "denied"}\n\n{"message": "x"}\r\n'
    outcome = parse_log_intake(NDJSON, body, cfg, now=NOW, query={"service": "api"})
    assert outcome.records == [(b"auth", b'{"service": {"name": "auth"}, "message": "denied"}'),
                               (b"api", b'{"message": "x"}')]


def test_bad_ndjson_line_refuses_the_whole_body_naming_the_line(cfg):
    outcome = parse_log_intake(NDJSON, b'{"a": 1}\n{"a": \n', cfg, now=NOW)
    assert outcome.status == 400 and "line 2" in outcome.body["message"] and outcome.records == []


def test_text_lines_keep_their_bytes(cfg):
    # Real nginx error-log lines: plain text is passed through untouched, one record per line.
    body = (b'2019/10/30 23:26:34 [error] 205860#205860: *180289 FastCGI sent in stderr: "PHP message: x"\n'
            b"2019/11/05 14:50:44 [error] 54053#0: *3 open() failed (2: No such file or directory)\n")
    outcome = parse_log_intake({"Content-Type": "text/plain"}, body, cfg, now=NOW)
    assert [v for _, v in outcome.records] == body.splitlines()
    assert {k for k, _ in outcome.records} == {b"unknown"}


def test_wrong_type_empty_body_and_bad_service(cfg):
    assert parse_log_intake({"Content-Type": "application/xml"}, b"<x/>", cfg, now=NOW).status == 415
    assert parse_log_intake({"Content-Type": "text/plain"}, b"\n\n", cfg, now=NOW).status == 400
    bad = parse_log_intake({"Content-Type": "text/plain", "X-Logwarden-Service": "a\x00b"}, b"x", cfg, now=NOW)
    assert bad.status == 400 and bad.reason == "bad_service"
    assert parse_log_intake({"Content-Type": "application/json"}, b"[1, 2]", cfg, now=NOW).status == 400


def test_line_limit_is_413():
    cfg = GatewayConfig(max_log_lines_per_request=2)
    assert parse_log_intake({"Content-Type": "text/plain"}, b"a\nb\nc\n", cfg, now=NOW).status == 413
    array = parse_log_intake({"Content-Type": "application/json"}, b'[{}, {}, "c"]', cfg, now=NOW)
    assert (array.status, array.reason) == (413, "too_many_lines")


def test_a_line_longer_than_max_line_bytes_is_413():
    cfg = GatewayConfig(max_line_bytes=1024)
    for ctype, body in (("text/plain", b"ok\n" + b"x" * 1025), ("application/json", orjson.dumps(["x" * 1025])),
                        ("application/x-ndjson", orjson.dumps({"m": "x" * 1025}))):
        outcome = parse_log_intake({"Content-Type": ctype}, body, cfg, now=NOW)
        assert (outcome.status, outcome.reason) == (413, "line_too_large"), ctype


def test_service_fields_and_map_of_the_shared_rule_are_used(cfg):
    body = orjson.dumps([{"app": "inventory", "msg": "a"},
                         {"kubernetes": {"labels": {"app": "shipping"}}, "msg": "b"},
                         {"service.name": "billing-v2", "msg": "c"},
                         {"msg": "d"}])
    outcome = parse_log_intake({"Content-Type": "application/json"}, body, cfg, now=NOW,
                               service_map={"billing-v2": "billing"}, query={"service": "edge"})
    assert [k for k, _ in outcome.records] == [b"inventory", b"shipping", b"billing", b"edge"]
    assert outcome.body["services"] == ["billing", "edge", "inventory", "shipping"]
    only_app = parse_log_intake({"Content-Type": "application/x-ndjson"}, b'{"app": "inventory"}', cfg,
                                now=NOW, fields=["app"])
    assert only_app.records[0][0] == b"inventory"


def test_text_lines_name_their_service_in_syslog_compose_and_logfmt_headers(cfg):
    body = (b"<165>1 2024-05-01T10:00:00Z host1 billing 4242 ID47 - payment declined\n"
            b"May  1 10:00:00 host1 checkout[311]: timeout talking to db\n"
            b"nginx-1  | 10.0.0.1 - - GET / 502\n"
            b"level=error service=search msg=\"query failed\"\n"
            b"no header at all\n")
    outcome = parse_log_intake({"Content-Type": "text/plain"}, body, cfg, now=NOW,
                               query={"service": "fallback"})
    assert [k for k, _ in outcome.records] == [b"billing", b"checkout", b"nginx-1", b"search", b"fallback"]


def test_a_control_character_in_a_line_field_refuses_the_request(cfg):
    body = b'{"msg": "fine"}\n{"app": "fuzz\\u0000svc", "msg": "x"}\n'
    outcome = parse_log_intake({"Content-Type": "application/x-ndjson"}, body, cfg, now=NOW)
    assert (outcome.status, outcome.reason, outcome.records) == (400, "bad_service", [])
    assert "line 2" in outcome.body["message"]


def test_logs_source_can_require_a_token():
    cfg = GatewayConfig(auth={"logs": SourceAuth(scheme="bearer", token="t0ken-value")})
    assert parse_log_intake({"Content-Type": "text/plain"}, b"x", cfg, now=NOW).status == 401
    ok = parse_log_intake({"Content-Type": "text/plain", "Authorization": "Bearer t0ken-value"}, b"x", cfg, now=NOW)
    assert ok.status == 202
