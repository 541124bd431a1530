"""Probes: exec without a shell, timeouts that kill, HTTP JSON values, Prometheus answers, the shipped examples."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import sys
import threading
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from agents.checks.config import ChecksConfig, ProbeSpec
from agents.checks.probes import ProbeError, outcome_of, parse_lines, run_exec
from agents.checks.probes_http import HttpProber
from agents.checks.runner import CheckRunner

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable


def _probe(**kw) -> ProbeSpec:
    return ProbeSpec.model_validate({"name": "depth", **kw})


def test_output_lines_are_one_value_or_named_values():
    assert parse_lines("42\n", "depth") == {"depth": 42.0}
    assert parse_lines("ready 3\nfailed 1.5\n\n", "jobs") == {"ready": 3.0, "failed": 1.5}
    for bad in ("", "many words here", "x nan", "abc"):
        with pytest.raises(ProbeError):
            parse_lines(bad, "depth")


def test_thresholds_on_a_probe_are_optional_and_the_worst_value_decides():
    assert outcome_of(_probe(command=["x"]), {"depth": 1e9}).status == "ok"
    spec = _probe(command=["x"], unit="jobs", warning_threshold=100, critical_threshold=1000)
    out = outcome_of(spec, {"a": 5.0, "b": 1500.0})
    assert (out.check, out.status, out.value, out.threshold) == ("probe:depth", "fail", 1500.0, 1000)
    assert out.message == "probe depth: a 5 jobs, b 1500 jobs (at or above 1000 jobs)"
    assert out.units == {"a": "jobs", "b": "jobs"}


def test_exec_runs_the_program_with_arguments_never_a_shell(tmp_path):
    marker = tmp_path / "pwned"
    # A shell would run the `touch`; exec hands the whole string to python as one argument.
    spec = _probe(command=[PY, "-c", "import sys; print(len(sys.argv))", f"; touch {marker}"])
    assert asyncio.run(run_exec(spec)) == {"depth": 2.0}
    assert not marker.exists()


def test_exec_past_its_timeout_is_killed_and_says_so():
    spec = _probe(command=[PY, "-c", "import time; time.sleep(60)"], timeout_s=0.3)
    with pytest.raises(ProbeError, match=r"timed out after 0.3s and was killed"):
        asyncio.run(run_exec(spec))


def test_exec_failure_is_reported_with_its_status_and_first_line():
    spec = _probe(command=[PY, "-c", "import sys; sys.exit('redis: connection refused')"])
    with pytest.raises(ProbeError, match="exited with status 1: redis: connection refused"):
        asyncio.run(run_exec(spec))
    with pytest.raises(ProbeError, match="cannot run /no/such/program"):
        asyncio.run(run_exec(_probe(command=["/no/such/program"])))


def test_a_failing_probe_is_published_unknown_not_failed():
    cfg = ChecksConfig.model_validate({"service": "s", "host": "h", "probes": [
        {"name": "broken", "command": [PY, "-c", "print('soon')"]}]})
    runner = CheckRunner(cfg)
    runner.reader.tasks = lambda: []

    async def go():
        try:
            return await runner.due(10.0)
        finally:
            await runner.close()

    (result,) = asyncio.run(go())
    assert (result.check, result.kind, result.status) == ("probe:broken", "probe", "unknown")
    assert result.message == "probe broken: 'soon' is not a number"


def _prober(handler) -> HttpProber:
    return HttpProber(httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def test_http_probe_reads_the_number_at_a_json_path():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url)))
        return httpx.Response(200, json={"consumers": [{"lag": 1234}]})

    spec = _probe(kind="http", url="http://svc/stats", json_path="consumers.0.lag")
    assert asyncio.run(_prober(handler).values(spec)) == {"depth": 1234.0}
    assert seen == [("GET", "http://svc/stats")]
    with pytest.raises(ProbeError, match="no value at 'consumers.1.lag'"):
        asyncio.run(_prober(handler).values(spec.model_copy(update={"json_path": "consumers.1.lag"})))
    with pytest.raises(ProbeError, match="answered HTTP 503"):
        asyncio.run(_prober(lambda r: httpx.Response(503)).values(spec))


def test_prometheus_probe_sends_an_instant_query_and_names_each_series():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.url.params["query"]))
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"code": "500"}, "value": [1, "0.5"]}, {"metric": {"code": "503"}, "value": [1, "2"]}]}})

    spec = _probe(kind="prometheus", url="http://prom:9090/", query="sum by (code) (rate(x[5m]))")
    assert asyncio.run(_prober(handler).values(spec)) == {"depth{code=500}": 0.5, "depth{code=503}": 2.0}
    assert seen == [("/api/v1/query", "sum by (code) (rate(x[5m]))")]

    def bad_query(request):
        return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "parse error"})

    with pytest.raises(ProbeError, match="prometheus answered bad_data"):
        asyncio.run(_prober(bad_query).values(spec))


@pytest.mark.parametrize("spec, message", [
    ({"name": "x"}, "exec probe needs command"),
    ({"name": "x", "kind": "http", "url": "file:///etc/passwd"}, "http probe needs an http"),
    ({"name": "x", "kind": "prometheus", "url": "http://p"}, "prometheus probe needs query"),
    ({"name": "bad name; rm", "command": ["x"]}, "probe name"),
    ({"name": "x", "command": "redis-cli llen q"}, "list"),
])
def test_invalid_probe_declarations_are_refused_at_load(spec, message):
    with pytest.raises(ValidationError, match=message):
        ProbeSpec.model_validate(spec)


def test_thresholds_must_be_ordered():
    with pytest.raises(ValidationError, match="critical_threshold must be at or above warning_threshold"):
        ChecksConfig.model_validate({"disk": {"warning_threshold": 95, "critical_threshold": 90}})


def test_example_sql_count_probe(tmp_path):
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE outbox (id INTEGER, sent_at TEXT)")
        conn.executemany("INSERT INTO outbox VALUES (?, ?)", [(i, None if i % 3 else "x") for i in range(30)])
    spec = _probe(command=[PY, str(ROOT / "ops/probes/sql_count.py"), str(db),
                           "SELECT count(*) FROM outbox WHERE sent_at IS NULL"])
    assert asyncio.run(run_exec(spec)) == {"depth": 20.0}  # 30 rows, every third sent


def test_example_redis_queue_depth_probe_speaks_llen():
    server = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(1024))
            conn.sendall(b":17\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    spec = _probe(command=[PY, str(ROOT / "ops/probes/redis_queue_depth.py"), "127.0.0.1", str(port), "jobs"])
    try:
        assert asyncio.run(run_exec(spec)) == {"depth": 17.0}
    finally:
        thread.join(5)
        server.close()
    assert received == [b"*2\r\n$4\r\nLLEN\r\n$4\r\njobs\r\n"]


def test_example_quota_probe_prints_percent_used_and_remaining(tmp_path):
    doc = tmp_path / "usage.json"
    doc.write_text(json.dumps({"usage": {"requests": 450}, "limits": {"requests_per_hour": 600}}))
    spec = _probe(command=[PY, str(ROOT / "ops/probes/quota_rate.py"), doc.as_uri(), "usage.requests",
                           "limits.requests_per_hour"])
    assert asyncio.run(run_exec(spec)) == {"quota_used_percent": 75.0, "quota_remaining": 150.0}


def test_the_example_probe_configuration_loads():
    import tomllib

    cfg = ChecksConfig.model_validate(tomllib.loads((ROOT / "ops/probes/probes.example.toml").read_text())["checks"])
    assert [p.kind for p in cfg.probes] == ["exec", "exec", "exec", "prometheus", "http"]
