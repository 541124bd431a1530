"""Fixes end to end, on both real brokers, with real `logwarden worker` processes.

- The executor stage alone: orders on `fixes.orders` run once each, for real or dry,
  and a worker killed (SIGKILL) while a runbook runs does not run it again.
- The whole path (ops/APPROVALS.md): an OOM burst opens an incident, the built-in rules
  propose `restart-service`, a person approves through the signed link of the console
  notification (GET shows a confirmation page, POST decides), the runbook (a test double
  of tests/data/runbooks that appends a line to a file) runs once, the errors have
  stopped, so the fix is verified and the incident resolved, every step on
  `incidents.events` in order. A crash loop on another service gets a dry run.
- The same with the worker SIGKILLed right after `fix_started`: after its restart the
  runbook has still run once and the outcome is reported.

Each test runs in a topic namespace of its own (`topic_prefix`) on the session's broker.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from schemas.records import FixOrder, encode
from streams.brokers import free_port
from streams.kafka import create_topics
from tests.conftest import DATA, ROOT
from tests.e2e.harness import WorkerProcess, base_env, get_json, read_json, wait_for

pytestmark = pytest.mark.broker

RUNBOOKS = DATA / "runbooks"
ALL_STAGES = '["ticks", "web", "extract", "incidents", "ai", "notify", "gateway", "executor"]'
LINK_SECRET = "e2e-link-secret-0123456789abcdef"
OOM_LINES = (DATA / "fixes" / "oom_lines.jsonl").read_text().splitlines()
CRASH_LINES = (DATA / "fixes" / "crash_lines.jsonl").read_text().splitlines()


# --- helpers -------------------------------------------------------------------------


def _namespace() -> str:
    return f"e2e{uuid.uuid4().hex[:8]}."


def _setup(bootstrap: str, prefix: str) -> None:
    asyncio.run(create_topics(bootstrap, 4, prefix=prefix))


def _produce(bootstrap: str, topic: str, records: list[tuple[str, bytes, float]]) -> None:
    """(key, value, timestamp) records, acknowledged, in order."""
    from aiokafka import AIOKafkaProducer

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futs = [await producer.send(topic, value, key=key.encode(), timestamp_ms=int(ts * 1000))
                    for key, value, ts in records]
            await asyncio.gather(*futs)
        finally:
            await producer.stop()

    asyncio.run(run())


def _order(service: str, *, dry_run: bool = False, runbook: str = "restart-service") -> FixOrder:
    approval_id = f"{service}-{uuid.uuid4().hex[:6]}:fix:1"
    return FixOrder(approval_id=approval_id, incident_id=approval_id.split(":fix:")[0], service=service,
                    runbook=runbook, params={"service": service}, approved_by=["cli:e2e"], dry_run=dry_run,
                    at=time.time())


def _send_orders(bootstrap: str, prefix: str, *orders: FixOrder) -> None:
    _produce(bootstrap, prefix + "fixes.orders", [(o.service, encode(o), time.time()) for o in orders])


def _reports(bootstrap: str, prefix: str, approval_id: str, action: str = "executed") -> list[dict]:
    return [a for a in read_json(bootstrap, prefix + "approvals", idle=0.5)
            if a["approval_id"] == approval_id and a["action"] == action]


def _wait_report(bootstrap: str, prefix: str, approval_id: str, worker: WorkerProcess, *, action: str = "executed",
                 count: int = 1, timeout: float = 120) -> list[dict]:
    records = wait_for(bootstrap, prefix + "approvals",
                       lambda rs: sum(1 for a in rs if a["approval_id"] == approval_id and a["action"] == action)
                       >= count, timeout=timeout, worker=worker)
    return [a for a in records if a["approval_id"] == approval_id and a["action"] == action]


def _fill(line: str, service: str, ts: float) -> str:
    when = datetime.fromtimestamp(ts, tz=timezone.utc)
    return (line.replace("{service}", service)
            .replace("{iso}", when.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
            .replace("{asctime}", when.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3])
            .replace('"{ts}"', f"{ts:.3f}"))


def _minute(service: str, start: float, errors: list[str]) -> list[tuple[str, bytes, float]]:
    """One minute of a service's JSON lines: ten served requests and the errors given."""
    out = []
    for i in range(10):
        ts = start + 1 + i * 5
        out.append((service, json.dumps({"ts": ts, "level": "info", "service": service,
                                         "msg": f"GET /api/items/{1000 + i} 200"}).encode(), ts))
    for j, line in enumerate(errors):
        ts = start + 2 + j * 0.5
        out.append((service, _fill(line, service, ts).encode(), ts))
    return sorted(out, key=lambda r: r[2])


def _burst(bootstrap: str, prefix: str, service: str, lines: list[str]) -> None:
    """Errors in the last two full minutes, before any worker runs: the first tick of
    the worker closes those windows, so the incident opens at once."""
    now_minute = (time.time() // 60) * 60
    records = []
    for start in (now_minute - 120, now_minute - 60):
        records += _minute(service, start, lines * 3)
    _produce(bootstrap, prefix + "logs.raw", records)


def _events(bootstrap: str, prefix: str, service: str) -> list[dict]:
    return [e for e in read_json(bootstrap, prefix + "incidents.events", idle=0.5) if e["service"] == service]


def _has(events: list[dict], type_: str, **data) -> bool:  # noqa: ANN003
    return any(e["type"] == type_ and all(e["data"].get(k) == v for k, v in data.items()) for e in events)


def _until_resolved(events: list[dict]) -> list[dict]:
    """The events up to the first `resolved` (the post-resolution review may propose again after it)."""
    end = next((i for i, e in enumerate(events) if e["type"] == "resolved"), len(events) - 1)
    return events[:end + 1]


def _in_order(events: list[dict], types: list[str]) -> list[dict]:
    """Each type once (by event id), in this order on the topic."""
    firsts = []
    seen = [e["type"] for e in events]
    for type_ in types:
        ids = {e["event_id"] for e in events if e["type"] == type_}
        assert len(ids) == 1, f"{type_}: {len(ids)} distinct events in {seen}"
        firsts.append(next(i for i, e in enumerate(events) if e["type"] == type_))
    assert firsts == sorted(firsts), [events[i]["type"] for i in sorted(firsts)]
    return [events[i] for i in firsts]


def _run_dirs(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "lw" / "fixes").glob("*") if p.is_dir())


def _marker_lines(tmp_path: Path, service: str) -> list[str]:
    lines = []
    for marker in (tmp_path / "lw" / "fixes").glob("*/marker"):
        lines += marker.read_text().splitlines()
    return [line for line in lines if line.endswith(service)]


def _wait_file(path_glob: str, root: Path, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(root.glob(path_glob))
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {path_glob} under {root} in {timeout}s")


class _Form(HTMLParser):
    """The first form of a page: its action, method and input values."""

    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self._in = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action, self.method, self._in = a.get("action") or "", (a.get("method") or "get").lower(), True
        elif tag in ("input", "button") and self._in and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag == "form":
            self._in = False


def _http(url: str, data: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def _approve_link(tmp_path: Path, incident_id: str, timeout: float = 90) -> str:
    """The approve link of the incident's proposal, from the console channel's file."""
    notifications = tmp_path / "lw" / "notifications.jsonl"
    pattern = re.compile(r"https?://[^\s\"'<>\\]+/approve-fix\?[^\s\"'<>\\]+")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = notifications.read_text() if notifications.exists() else ""
        for link in pattern.findall(text):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
            if query.get("incidentId") == [incident_id] and query.get("action") == ["approve"]:
                return link
        time.sleep(0.5)
    raise AssertionError(f"no approve link for {incident_id} in {notifications}")


def _approve_by_link(link: str, worker: WorkerProcess, bootstrap: str, prefix: str, service: str) -> None:
    """GET the link (a confirmation page that decides nothing), then POST its form."""
    parts = urllib.parse.urlsplit(link)
    url = worker.url + parts.path + "?" + parts.query  # the worker that runs now, wherever the link points
    status, page = _http(url)
    assert status == 200, page[:500]
    assert not _has(_events(bootstrap, prefix, service), "fix_approved"), "a GET must never decide"
    form = _Form()
    form.feed(page)
    assert form.action is not None and form.method == "post", page[:500]
    target = urllib.parse.urljoin(url, form.action) if form.action else url
    body = urllib.parse.urlencode(form.fields).encode() if form.fields else b""
    status, page = _http(target, body)
    assert status in (200, 202), page[:500]  # 202: recorded; the reducer decides what it does


def _flow_env(tmp_path: Path, bootstrap: str, prefix: str, index: str) -> dict[str, str]:
    return base_env(tmp_path, bootstrap, f"e2e-fixes-{prefix.rstrip('.')}", LOGWARDEN_STAGES=ALL_STAGES,
                    LOGWARDEN_TOPIC_PREFIX=prefix, LOGWARDEN_AI__RUNBOOKS_INDEX=str(RUNBOOKS / index),
                    LOGWARDEN_EXECUTOR__ALLOW_REAL="true", LOGWARDEN_APPROVALS__LINK_SECRET=LINK_SECRET,
                    LOGWARDEN_TICK_INTERVAL_S="1")


def _start_flow_worker(env: dict[str, str], tmp_path: Path) -> WorkerProcess:
    worker = WorkerProcess(env, tmp_path / "run")
    worker.env["LOGWARDEN_APPROVALS__PUBLIC_URL"] = worker.url  # where the links point
    return worker.start()


def _opened(bootstrap: str, prefix: str, service: str, worker: WorkerProcess) -> str:
    events = wait_for(bootstrap, prefix + "incidents.events",
                      lambda evs: any(e["type"] == "fix_proposed" and e["service"] == service for e in evs),
                      timeout=120, worker=worker)
    return next(e["incident_id"] for e in events if e["type"] == "fix_proposed" and e["service"] == service)


# --- the executor stage alone ----------------------------------------------------------


def test_executor_stage_runs_each_order_once_across_a_sigkill(broker, tmp_path):
    bootstrap, prefix = broker.bootstrap, _namespace()
    _setup(bootstrap, prefix)
    env = base_env(tmp_path, bootstrap, f"e2e-executor-{prefix.rstrip('.')}", LOGWARDEN_STAGES='["web", "executor"]',
                   LOGWARDEN_TOPIC_PREFIX=prefix, LOGWARDEN_AI__RUNBOOKS_INDEX=str(RUNBOOKS / "slow.toml"),
                   LOGWARDEN_EXECUTOR__ALLOW_REAL="true")
    fixes = tmp_path / "lw" / "fixes"
    killed, finished, dry = _order("payments"), _order("orders"), _order("search", dry_run=True)

    worker = WorkerProcess(env, tmp_path / "run").start()
    try:
        _send_orders(bootstrap, prefix, killed)
        _wait_report(bootstrap, prefix, killed.approval_id, worker, action="started")
        _wait_file("*/marker", fixes)  # the runbook is running (it takes 8 s)
        worker.kill()  # SIGKILL: its order's offset is not committed, the journal says "started"

        worker = WorkerProcess(env, tmp_path / "run").start()
        (report,) = _wait_report(bootstrap, prefix, killed.approval_id, worker)
        assert (report["status"], report["dry_run"], report["actor"]) == ("interrupted", False, "executor")

        # The same orders again (a producer retrying), a real one that finishes, a dry one.
        _send_orders(bootstrap, prefix, finished, dry, killed, finished)
        ok = _wait_report(bootstrap, prefix, finished.approval_id, worker, count=2)
        (dry_report,) = _wait_report(bootstrap, prefix, dry.approval_id, worker)
        again = _wait_report(bootstrap, prefix, killed.approval_id, worker, count=2)
    finally:
        worker.stop()

    assert [(r["status"], r["exit_status"], r["dry_run"]) for r in ok] == [("ok", 0, False)] * 2
    assert [r["status"] for r in again] == ["interrupted"] * 2
    assert (dry_report["status"], dry_report["dry_run"], dry_report["output"][:9]) == ("ok", True, "dry run: ")
    # Started once each: the redelivered and repeated orders were reported, not run.
    assert len(_reports(bootstrap, prefix, killed.approval_id, "started")) == 1
    assert len(_reports(bootstrap, prefix, finished.approval_id, "started")) == 1
    assert _marker_lines(tmp_path, "payments") == ["restarted payments"]
    assert _marker_lines(tmp_path, "orders") == ["restarted orders"]
    assert _marker_lines(tmp_path, "search") == []
    (dry_file,) = fixes.glob("search-*/dry-run.txt")
    assert "python3 -c" in dry_file.read_text() and dry_file.read_text().rstrip().endswith(" search")
    assert len(_run_dirs(tmp_path)) == 3


def test_up_runs_approved_fixes_as_dry_runs(cli_env, tmp_path):
    """`logwarden up` (no `stages` configured) runs the executor too, with the shipped
    catalog and its default: a dry run that writes what it would run."""
    port = free_port()
    env = dict(cli_env, LOGWARDEN_WEB_PORT=str(port), LOGWARDEN_LOG_LEVEL="warning")
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "up"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            try:
                if get_json(f"http://127.0.0.1:{port}/healthz").get("assigned_partitions", 0) > 0:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        bootstrap = json.loads((tmp_path / "lw" / "broker.json").read_text())["bootstrap"]
        order = _order("payments")  # the shipped restart-service: real = false
        _send_orders(bootstrap, "", order)
        dry_file = _wait_file("payments-*/dry-run.txt", tmp_path / "lw" / "fixes", timeout=90)
        records = wait_for(bootstrap, "approvals", lambda rs: any(r["action"] == "executed" for r in rs))
        (report,) = [r for r in records if r["action"] == "executed"]
        assert "systemctl restart payments" in dry_file.read_text()
        assert (report["approval_id"], report["status"], report["dry_run"]) == (order.approval_id, "ok", True)
        assert report["output"] == "dry run: systemctl restart payments"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


# --- the whole path -------------------------------------------------------------------


def test_oom_fix_approved_by_link_runs_once_and_is_verified(broker, tmp_path):
    bootstrap, prefix = broker.bootstrap, _namespace()
    _setup(bootstrap, prefix)
    _burst(bootstrap, prefix, "payments", OOM_LINES)  # restart-service, real
    _burst(bootstrap, prefix, "search", CRASH_LINES)  # restart-service-dry: a dry run
    worker = _start_flow_worker(_flow_env(tmp_path, bootstrap, prefix, "index.toml"), tmp_path)
    try:
        for service in ("payments", "search"):
            incident_id = _opened(bootstrap, prefix, service, worker)
            _approve_by_link(_approve_link(tmp_path, incident_id), worker, bootstrap, prefix, service)
        for service in ("payments", "search"):
            wait_for(bootstrap, prefix + "incidents.events",
                     lambda evs, s=service: any(e["type"] == "resolved" and e["service"] == s for e in evs),
                     timeout=240, worker=worker)
    finally:
        worker.stop()

    steps = ["opened", "fix_proposed", "fix_approved", "fix_started", "fix_executed", "fix_verified", "resolved"]
    real = _in_order(_until_resolved(_events(bootstrap, prefix, "payments")), steps)
    assert real[1]["data"]["runbook"] == "restart-service"
    assert (real[4]["data"]["status"], real[4]["data"]["dry_run"], real[4]["data"]["exit_status"]) == ("ok", False, 0)
    assert "restart-service" in str(real[-1]["data"].get("by"))
    assert _marker_lines(tmp_path, "payments") == ["restarted payments"]

    dry = _in_order(_until_resolved(_events(bootstrap, prefix, "search")), steps)
    assert dry[1]["data"]["runbook"] == "restart-service-dry"
    assert (dry[4]["data"]["status"], dry[4]["data"]["dry_run"]) == ("ok", True)
    assert _marker_lines(tmp_path, "search") == []
    (dry_file,) = (tmp_path / "lw" / "fixes").glob("*/dry-run.txt")
    assert dry_file.read_text().rstrip().endswith(" search")


def test_worker_killed_after_fix_started_does_not_run_it_twice(broker, tmp_path):
    bootstrap, prefix = broker.bootstrap, _namespace()
    _setup(bootstrap, prefix)
    _burst(bootstrap, prefix, "payments", OOM_LINES)
    env = _flow_env(tmp_path, bootstrap, prefix, "slow.toml")  # the runbook takes 8 s
    worker = _start_flow_worker(env, tmp_path)
    try:
        incident_id = _opened(bootstrap, prefix, "payments", worker)
        _approve_by_link(_approve_link(tmp_path, incident_id), worker, bootstrap, prefix, "payments")
        wait_for(bootstrap, prefix + "incidents.events",
                 lambda evs: any(e["type"] == "fix_started" and e["service"] == "payments" for e in evs),
                 timeout=120, worker=worker)
        worker.kill()

        worker = WorkerProcess(env, tmp_path / "run").start()
        events = wait_for(bootstrap, prefix + "incidents.events",
                          lambda evs: any(e["type"] in ("fix_escalated", "fix_verified") and e["service"] == "payments"
                                          for e in evs), timeout=240, worker=worker)
    finally:
        worker.stop()

    events = [e for e in events if e["service"] == "payments"]
    (executed,) = {e["event_id"]: e for e in events if e["type"] == "fix_executed"}.values()
    print(f"fix_executed after the kill: {executed['data']['status']}")
    if executed["data"]["status"] == "interrupted":  # killed mid-run: a person decides
        _in_order(events, ["fix_proposed", "fix_approved", "fix_started", "fix_executed", "fix_escalated"])
        escalated = next(e for e in events if e["type"] == "fix_escalated")
        assert escalated["data"]["actor"] == "logwarden"
    else:  # the kill came before the journal's "started": it ran after the restart, once
        assert executed["data"]["status"] == "ok"
        _in_order(_until_resolved(events),
                  ["fix_proposed", "fix_approved", "fix_started", "fix_executed", "fix_verified"])
    assert _marker_lines(tmp_path, "payments") == ["restarted payments"]
