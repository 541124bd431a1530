"""What the person on call reads, end to end on one broker (issue #13).

Six services on a real worker (Tansu, the local AI): three planted incidents (a Python
`logger.exception` burst, nginx in front of an application that refuses connections, a
Java service logging stack traces in JSON), one planted one-off on a clean service, one
more one-off on a service while its incident is open, and two services that stay clean.
Read where a person reads it, the console channel's `notifications.jsonl`: exactly one
one-off ticket, no incident ticket without an incident, the one-off during the incident
joined it, and no `<*>`, template id or `fp1:` fingerprint in a notification title or
ticket summary.

The log lines are the real samples in tests/data/extract (see its PROVENANCE.md):
lnav/log2src_python-example.0, nginx_captured/fixmystreet_docker_compose_nginx_502_excerpt.log,
stacktraces/complex_java_exc.log and stacktraces/node_js_exc.log; only their timestamps are
moved to the test's minutes (and the compose prefix of the nginx lines dropped).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path

from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, ensure_topics, minute_lines, produce, wait_for

DATA = Path(__file__).resolve().parents[1] / "data" / "extract"
PY = (DATA / "lnav" / "log2src_python-example.0").read_text(encoding="utf-8").splitlines()
NGINX = (DATA / "nginx_captured" / "fixmystreet_docker_compose_nginx_502_excerpt.log").read_text(
    encoding="utf-8").splitlines()
JAVA = (DATA / "stacktraces" / "complex_java_exc.log").read_text(encoding="utf-8")
NODE = (DATA / "stacktraces" / "node_js_exc.log").read_text(encoding="utf-8")

PY_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}")
NGINX_ERROR_STAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d")
NGINX_ACCESS_STAMP = re.compile(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\]")
TEMPLATE_ID = re.compile(r"\bT[0-9a-f]{10}\b")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _python_exception(ts: float) -> list[str]:
    """`logger.exception` output: the ERROR line, then its traceback (lines 7-12)."""
    stamp = _utc(ts).strftime("%Y-%m-%d %H:%M:%S,") + f"{int(ts * 1000) % 1000:03d}"
    return [PY_STAMP.sub(stamp, PY[6]), *PY[7:12]]


def _python_oneoff(ts: float) -> str:
    """Line 6: "ERROR error message: failed to open resource"."""
    stamp = _utc(ts).strftime("%Y-%m-%d %H:%M:%S,") + f"{int(ts * 1000) % 1000:03d}"
    return PY_STAMP.sub(stamp, PY[5])


def _nginx(ts: float) -> list[str]:
    """The upstream refusal and its 502 access line, for GET / (lines 1-2)."""
    error, access = (line.split("| ", 1)[1] for line in NGINX[:2])
    return [NGINX_ERROR_STAMP.sub(_utc(ts).strftime("%Y/%m/%d %H:%M:%S"), error),
            NGINX_ACCESS_STAMP.sub(_utc(ts).strftime("[%d/%b/%Y:%H:%M:%S +0000]"), access)]


def _java(service: str, ts: float) -> str:
    return json.dumps({"ts": ts, "level": "error", "service": service, "msg": "POST /v1/invoices failed",
                       "stack_trace": JAVA})


def _node(service: str, ts: float) -> str:
    return json.dumps({"ts": ts, "level": "error", "service": service, "msg": "GET /v1/catalog/items failed",
                       "stack": NODE})


def _traffic(t0: float) -> list[tuple[str, str, float]]:
    records: list[tuple[str, str, float]] = []
    for minute in range(0, 13):
        base = t0 + minute * 60
        for service in ("orders", "edge", "billing", "catalog", "search", "auth"):
            records += minute_lines(service, t0, minute, infos=6)
        if minute in (2, 3):  # incident 1: orders, 8 logged exceptions a minute
            for i in range(8):
                ts = base + 5 + i * 6
                records += [("orders", line, ts + k * 0.001) for k, line in enumerate(_python_exception(ts))]
        if minute == 3:  # a one-off on orders while its incident is open: joins it
            records.append(("orders", _python_oneoff(base + 55), base + 55))
        if minute in (2, 3):  # incident 2: edge (nginx) gets connection refused from its upstream
            for i in range(6):
                ts = base + 4 + i * 8
                records += [("edge", line, ts + k * 0.001) for k, line in enumerate(_nginx(ts))]
        if minute == 3:  # incident 3: billing's invoices fail with a Java stack, 5 times
            records += [("billing", _java("billing", base + 10 + i * 9), base + 10 + i * 9) for i in range(5)]
            # The planted one-off: one Node error on catalog, a service with no incident.
            records.append(("catalog", _node("catalog", base + 30), base + 30))
    records.sort(key=lambda r: r[2])
    return records


def _notifications(path: Path, predicate, worker: WorkerProcess, timeout: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout
    lines: list[dict] = []
    while time.monotonic() < deadline:
        if path.exists():
            lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            if predicate(lines):
                return lines
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        time.sleep(0.5)  # polling a file the worker appends to: there is no event to await
    raise AssertionError(f"notifications not complete in {timeout}s: {[n['kind'] for n in lines]}\n{worker.tail()}")


def test_what_the_person_on_call_reads(tansu, tmp_path):
    bootstrap = tansu.bootstrap
    ensure_topics(bootstrap)
    t0 = (time.time() // 60) * 60 - 3600
    env = base_env(tmp_path, bootstrap, "e2e-oncall", LOGWARDEN_STAGES=NO_TICKS)
    worker = WorkerProcess(env, tmp_path / "run").start()
    try:
        produce(bootstrap, _traffic(t0))
        events = wait_for(bootstrap, "incidents.events",
                          lambda evs: sum(e["type"] == "resolved" for e in evs) >= 3, worker=worker, timeout=150)
        notes = _notifications(tmp_path / "lw" / "notifications.jsonl",
                               # The one-off's ticket too: catalog's partition may be read after the others'.
                               lambda ns: sum(n["kind"] == "resolved" for n in ns) >= 3
                               and any(n["kind"] == "oneoff_ticket" for n in ns), worker)
    finally:
        worker.stop()

    opened = {e["incident_id"]: e["service"] for e in events if e["type"] == "opened"}
    assert sorted(opened.values()) == ["billing", "edge", "orders"]
    # Errors in minutes 2-3 (billing: 3): 5 clean windows, 4-8, resolve at the end of minute 8.
    assert sorted((e["service"], e["at"] - t0) for e in events if e["type"] == "resolved") == [
        ("billing", 540.0), ("edge", 540.0), ("orders", 540.0)]

    oneoffs = [n for n in notes if n["kind"] == "oneoff_ticket"]
    assert [(n["service"], n["incident_id"]) for n in oneoffs] == [("catalog", "")]
    tickets = [n for n in notes if n["kind"] == "ticket_create"]
    assert sorted(n["incident_id"] for n in tickets) == sorted(opened)  # one each, none without an incident
    # The console's ticket is the label a person can search for, never the outbox key.
    assert all(n["ticket"] == n["incident_id"] for n in tickets)
    assert not any(":ticket_create:" in n["text"] for n in notes)

    (orders_id,) = [i for i, s in opened.items() if s == "orders"]
    # The one-off on orders joined its open incident: named in the incident's ticket (in
    # the ticket itself when it was created after the join, else in a comment), no ticket of its own.
    orders_tickets = [n for n in notes if n["incident_id"] == orders_id and n["kind"] in ("ticket_create",
                                                                                           "ticket_comment")]
    assert any("failed to open resource" in n["text"] and "joined" in n["text"] for n in orders_tickets)
    orders_report = next(n for n in notes if n["kind"] == "resolved" and n["incident_id"] == orders_id)
    assert "joined it instead of getting a ticket of their own" in orders_report["text"]
    assert "5 clean windows in a row" in orders_report["text"]

    ticket_kinds = ("ticket_create", "ticket_comment", "ticket_resolve", "oneoff_ticket")
    for note in notes:
        for text in [note["title"]] + ([note["text"].split("\n", 1)[0]] if note["kind"] in ticket_kinds else []):
            assert "<*>" not in text and "fp1:" not in text and not TEMPLATE_ID.search(text), note
        assert "fp1:" not in note["text"], note
    by_service = {n["service"]: n["title"] for n in tickets}
    assert by_service["orders"].endswith("ZeroDivisionError on orders")
    assert by_service["edge"].endswith("upstream connection refused at GET / on edge")
    assert by_service["billing"].endswith("javax.servlet.ServletException at POST /v1/invoices on billing")
    assert oneoffs[0]["title"] == "One-off: ReferenceError at GET /v1/catalog/items on catalog"
