"""Chaos on Apache Kafka: workers SIGKILLed and the broker lost, and nothing may be lost or doubled (issue #18).

One embedded Apache Kafka broker, `--workers` `logwarden worker` processes with every
stage (ticks, web, extract, incidents, ai, notify, gateway), HTTP fakes of Slack (bot
mode), Jira Cloud and the PagerDuty Events API as channels (tests/e2e/fakes.py), and:
  - a generator: `--services` services, each an info line every 0.5 s, in real time
    (event time = wall time, so the workers' ticks close the windows); planted
    outbreaks, one every 2 minutes on the next service in turn, 2 minutes long: an
    error line every 2 s, `fatal` (P1: PagerDuty, Slack, Jira) and `error` (P2: Slack,
    Jira) alternately;
  - a killer: every 20-40 s it SIGKILLs a random worker and starts it again, for
    `--cycles` cycles; half-way through, the broker is stopped for `--outage` seconds
    and started again on the same port and data (the generator holds its lines
    meanwhile, with nothing in flight, so no line is late because of the bench).
Once the cycles are done and every outbreak's incident is resolved (or `--settle`
seconds passed), the generator stops at a minute's end, the last windows close, and the
tally reads the topics and the fakes:
  - per outbreak: incidents opened, or reopened when the service's previous incident
    resolved minutes before (exactly one), resolved (none stuck open), Jira
    issues created under its label, PagerDuty triggers/resolves of its dedup key, Slack
    top-level posts, edits and thread replies (and replies beyond the outbox's updates);
  - lines and errors counted in `signals.windows` (latest version per service and
    window) against the lines stored in `logs.raw`, per service and minute;
  - dead letters by reason; every consumer group's committed offsets against the end
    offsets of the topics it reads, taken once the traffic stopped.

    python -m ops.bench.chaos [--cycles 30] [--workers 3] [--services 6] [--outage 40] [--json out.json]

tests/e2e/test_chaos.py runs the same functions on a short plan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from streams.brokers import start_broker
from streams.kafka import client
from tests.e2e.fakes import FakeJira, FakePagerDuty, FakeSlack
from tests.e2e.harness import WorkerProcess, base_env, ensure_topics, read_all, read_json

SLACK_TOKEN = "xoxb-chaos-0000000000-slack-bot-token"
JIRA_EMAIL, JIRA_TOKEN = "oncall@example.com", "ATATT3xFfGF0-chaos-jira-api-token"
PD_KEY = "R0chaos000000000000000000000000pd"
ROUTES = ('[{kinds = ["ticket_create", "ticket_comment", "ticket_resolve", "oneoff_ticket"], channels = ["jira"]},'
          ' {kinds = ["alert", "update", "resolved"], severities = ["P1"], channels = ["pagerduty", "slack"]},'
          ' {kinds = ["alert", "update", "resolved"], channels = ["slack"]}]')
SERVICE_NAMES = ("payments", "orders", "search", "checkout", "ledger", "mailer", "auth", "catalog")
INFO_EVERY_S = 0.5
ERROR_EVERY_S = 2.0
OUTBREAK_MIN = 2
OUTBREAK_EVERY_MIN = 2
RESOLVE_MIN = 5 + 2  # clean windows to resolve (incidents.resolve_after) plus closing slack
TICK_KEY = b"__tick__"


@dataclass
class Outbreak:
    service: str
    kind: str  # "fatal" (P1) | "error" (P2)
    start: float  # wall = event time of its first minute
    minutes: int = OUTBREAK_MIN

    @property
    def end(self) -> float:
        return self.start + self.minutes * 60


def plan_outbreaks(t0: float, services: list[str], minutes: int) -> list[Outbreak]:
    """One outbreak every 2 minutes from minute 1, on the services in turn, the last one
    early enough to resolve within `minutes`; a service's next outbreak only after its
    previous one could resolve."""
    out: list[Outbreak] = []
    k = 0
    while True:
        start_min = 1 + k * OUTBREAK_EVERY_MIN
        if start_min + OUTBREAK_MIN + RESOLVE_MIN > minutes:
            return out
        service = services[k % len(services)]
        previous = [o for o in out if o.service == service]
        if previous and previous[-1].end + RESOLVE_MIN * 60 > t0 + start_min * 60:
            return out
        out.append(Outbreak(service, "fatal" if k % 2 == 0 else "error", t0 + start_min * 60))
        k += 1


def _line(service: str, ts: float, level: str, msg: str, **extra: str) -> bytes:
    return json.dumps({"ts": round(ts, 3), "level": level, "service": service, "msg": msg, **extra}).encode()


def info_line(service: str, ts: float, n: int) -> bytes:
    return _line(service, ts, "info", f"GET /api/items/{1000 + n % 500} 200 in {10 + n % 40}ms")


def outbreak_line(outbreak: Outbreak, ts: float) -> bytes:
    if outbreak.kind == "fatal":
        return _line(outbreak.service, ts, "fatal", "FATAL: could not connect to ledger database: connection refused",
                     logger=f"{outbreak.service}.db")
    return _line(outbreak.service, ts, "error", "could not connect to server: Connection refused (db:5432)",
                 error="psycopg2.OperationalError")


class Generator:
    """The services' log lines in real time, in a thread with its own event loop.

    `hold()` returns once nothing is in flight and no new line will be sent until
    `release()`: the broker can then be stopped without a line waiting through the outage
    (it would arrive late and count in a later minute, which is right, but not what this
    bench measures)."""

    def __init__(self, bootstrap: str, services: list[str], outbreaks: list[Outbreak]):
        self.bootstrap = bootstrap
        self.services = services
        self.outbreaks = outbreaks
        self.sent: Counter[tuple[str, int]] = Counter()  # acknowledged lines per (service, minute start)
        self.failed = 0
        self._stop_at: float | None = None
        self._hold = threading.Event()
        self._held = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True, name="generator")
        self.error: BaseException | None = None

    def start(self) -> "Generator":
        self._thread.start()
        return self

    def hold(self, timeout: float = 60) -> None:
        self._hold.set()
        if not self._held.wait(timeout):
            raise RuntimeError("generator did not hold")

    def release(self) -> None:
        self._held.clear()
        self._hold.clear()

    def stop_at(self, at: float) -> None:
        """Send no line stamped at or after `at`, then finish."""
        self._stop_at = at

    def join(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)
        if self.error is not None:
            raise RuntimeError(f"generator failed: {self.error!r}") from self.error

    async def _run(self) -> None:
        try:
            producer = await client.started(client.producer(self.bootstrap), self.bootstrap)
            try:
                await self._loop(producer)
            finally:
                await client.quiet_stop(producer)
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc
        finally:
            self._done.set()

    async def _loop(self, producer) -> None:  # noqa: ANN001 - an AIOKafkaProducer
        n = 0
        next_error: dict[int, float] = {}
        while True:
            if self._hold.is_set():
                self._held.set()
                while self._hold.is_set():
                    await asyncio.sleep(0.05)
            # One millisecond for the line's own time and its record's: a time rounded
            # to the next minute in the line but truncated in the record put a line at
            # xx:59.9996 in two minutes (the tally's and the broker time's that places it).
            now = int(time.time() * 1000) / 1000
            if self._stop_at is not None and now >= self._stop_at:
                return
            batch = [(s, info_line(s, now, n), "info") for s in self.services]
            for i, o in enumerate(self.outbreaks):
                if o.start <= now < o.end and now >= next_error.get(i, 0.0):
                    next_error[i] = now + ERROR_EVERY_S
                    batch.append((o.service, outbreak_line(o, now), o.kind))
            futures = [await producer.send("logs.raw", line, key=s.encode(), timestamp_ms=round(now * 1000))
                       for s, line, _level in batch]
            results = await asyncio.gather(*futures, return_exceptions=True)
            minute = int(now // 60 * 60)
            for (s, _line_, _level), result in zip(batch, results):
                if isinstance(result, BaseException):
                    self.failed += 1  # the tally counts what logs.raw holds, not what was sent
                else:
                    self.sent[(s, minute)] += 1
            n += 1
            await asyncio.sleep(max(0.0, INFO_EVERY_S - (time.time() - now)))


@dataclass
class Cluster:
    """The broker, the vendor fakes and the workers of one run."""

    tmp: Path
    workers_n: int
    app_id: str = "chaos"
    broker: Any = None
    slack: FakeSlack | None = None
    jira: FakeJira | None = None
    pagerduty: FakePagerDuty | None = None
    workers: list[WorkerProcess] = field(default_factory=list)

    def __enter__(self) -> "Cluster":
        self.broker = start_broker("kafka", self.tmp / "broker", timeout=120)
        ensure_topics(self.broker.bootstrap)
        self.slack = FakeSlack(SLACK_TOKEN).start()
        self.jira = FakeJira(JIRA_EMAIL, JIRA_TOKEN).start()
        self.pagerduty = FakePagerDuty(PD_KEY).start()
        env = self.env()
        self.workers = [WorkerProcess(env, self.tmp / f"w{i}") for i in range(self.workers_n)]
        for worker in self.workers:
            worker.start(ready_timeout=120)
        return self

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def env(self) -> dict[str, str]:
        # No LOGWARDEN_STAGES: a worker's default stages, every one but the executor.
        return base_env(
            self.tmp, self.bootstrap, self.app_id,
            LOGWARDEN_NOTIFY__ROUTES=ROUTES, LOGWARDEN_NOTIFY__CONSOLE__PRINT="false",
            LOGWARDEN_NOTIFY__SLACK__BOT_TOKEN=SLACK_TOKEN, LOGWARDEN_NOTIFY__SLACK__API_BASE=self.slack.api_base,
            LOGWARDEN_NOTIFY__SLACK__CHANNEL="#backend-alerts",
            LOGWARDEN_NOTIFY__JIRA__BASE_URL=self.jira.url, LOGWARDEN_NOTIFY__JIRA__EMAIL=JIRA_EMAIL,
            LOGWARDEN_NOTIFY__JIRA__API_TOKEN=JIRA_TOKEN, LOGWARDEN_NOTIFY__JIRA__PROJECT="OPS",
            LOGWARDEN_NOTIFY__PAGERDUTY__ROUTING_KEY=PD_KEY,
            LOGWARDEN_NOTIFY__PAGERDUTY__EVENTS_URL=self.pagerduty.events_url)

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.stop()
        for fake in (self.slack, self.jira, self.pagerduty):
            if fake is not None:
                fake.stop()
        if self.broker is not None:
            self.broker.stop()


@dataclass
class ChaosLog:
    kills: int = 0
    restart_failures: list[str] = field(default_factory=list)
    outage_s: float = 0.0
    died_in_outage: int = 0


def kill_cycles(cluster: Cluster, cycles: int, rnd: random.Random, log: ChaosLog, generator: Generator | None = None,
                outage_s: float = 0.0, interval: tuple[float, float] = (20.0, 40.0)) -> None:
    """SIGKILL a random worker every `interval` seconds and start it again; with
    `outage_s`, half-way through, stop the broker that long (workers stay up)."""
    for cycle in range(cycles):
        time.sleep(rnd.uniform(*interval))
        worker = rnd.choice(cluster.workers)
        worker.kill()
        log.kills += 1
        _restart(worker, log, f"cycle {cycle + 1}")
        print(f"[chaos] cycle {cycle + 1}/{cycles}: killed and restarted worker :{worker.port}", file=sys.stderr)
        if outage_s and cycle == cycles // 2:
            broker_outage(cluster, outage_s, log, generator)


def _restart(worker: WorkerProcess, log: ChaosLog, what: str) -> None:
    for _attempt in range(3):
        try:
            worker.start(ready_timeout=120)
            return
        except AssertionError as exc:
            log.restart_failures.append(f"{what}: {str(exc).splitlines()[0]}")
            worker.kill()


def broker_outage(cluster: Cluster, seconds: float, log: ChaosLog, generator: Generator | None) -> None:
    if generator is not None:
        generator.hold()
    print(f"[chaos] broker down for {seconds:.0f} s", file=sys.stderr)
    cluster.broker.stop()
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(0.5)
    for worker in cluster.workers:
        if worker.proc is not None and worker.proc.poll() is not None:
            log.died_in_outage += 1
    cluster.broker.start(timeout=120)
    log.outage_s += time.monotonic() - started
    for worker in cluster.workers:
        if worker.proc is not None and worker.proc.poll() is not None:
            _restart(worker, log, "after the outage")
    if generator is not None:
        generator.release()
    print("[chaos] broker back", file=sys.stderr)


# --- the tally ---------------------------------------------------------------------


def incidents_of(bootstrap: str) -> list[dict]:
    return read_json(bootstrap, "incidents.events", to_end=True)


def all_resolved(events: list[dict], outbreaks: list[Outbreak]) -> bool:
    return all(row["opened"] >= 1 and row["resolved"] for row in match_outbreaks(events, outbreaks))


def match_outbreaks(events: list[dict], outbreaks: list[Outbreak]) -> list[dict]:
    """Each outbreak and the incidents opened, or reopened, on its service while it lasted
    (or in the two minutes after: its last window closes then). A service's outbreak soon
    after its previous incident resolved reopens that incident: one incident, as it should."""
    starts = [e for e in events if e["type"] in ("opened", "reopened")]
    resolutions = [e for e in events if e["type"] == "resolved"]
    rows = []
    for o in outbreaks:
        mine = [e for e in starts if e["service"] == o.service and o.start - 60 <= e["at"] < o.end + 120]
        ids = sorted({e["incident_id"] for e in mine})
        rows.append({"service": o.service, "kind": o.kind, "start": o.start, "incident_ids": ids,
                     "opened": len(ids), "reopened": any(e["type"] == "reopened" for e in mine),
                     "resolved": bool(mine) and all(any(r["incident_id"] == e["incident_id"] and r["at"] >= e["at"]
                                                        for r in resolutions) for e in mine)})
    return rows


def line_accounting(bootstrap: str) -> dict:
    """Lines and errors per (service, minute): stored in logs.raw vs counted in windows."""
    produced: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for key, value in read_all(bootstrap, "logs.raw", to_end=True):
        if key == TICK_KEY:
            continue
        line = json.loads(value)
        cell = produced[(line["service"], int(line["ts"] // 60 * 60))]
        cell[0] += 1
        cell[1] += line["level"] in ("error", "fatal")
    latest: dict[tuple[str, int], dict] = {}
    for w in read_json(bootstrap, "signals.windows", to_end=True):
        k = (w["service"], int(w["window_start"]))
        if k not in latest or w["version"] >= latest[k]["version"]:
            latest[k] = w
    per_service: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # produced lines, errors; counted
    for (service, _minute), (lines, errors) in produced.items():
        per_service[service][0] += lines
        per_service[service][1] += errors
    for (service, _minute), w in latest.items():
        per_service[service][2] += w["lines"]
        per_service[service][3] += w["errors"]
    mismatches = []
    for k in sorted(set(produced) | set(latest)):
        want = produced.get(k, [0, 0])
        w = latest.get(k)
        got = [w["lines"], w["errors"]] if w else [0, 0]
        if want != got:
            mismatches.append({"service": k[0], "minute": k[1], "produced": want, "counted": got,
                               "late_lines": w["late_lines"] if w else 0, "window": bool(w)})
    return {"minutes": len(produced), "lines_produced": sum(c[0] for c in produced.values()),
            "errors_produced": sum(c[1] for c in produced.values()),
            "lines_counted": sum(w["lines"] for w in latest.values()),
            "errors_counted": sum(w["errors"] for w in latest.values()),
            "late_lines": sum(w["late_lines"] for w in latest.values()), "mismatches": mismatches,
            "per_service": dict(sorted(per_service.items()))}


async def _end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = await client.started(client.consumer(bootstrap), bootstrap)
    try:
        topics = [t for t in await consumer.topics() if not t.startswith("__")]
        tps = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        return await consumer.end_offsets(tps)
    finally:
        await client.quiet_stop(consumer)


async def _committed(bootstrap: str, app_id: str) -> dict[str, dict[TopicPartition, int]]:
    admin = await client.started(client.admin(bootstrap), bootstrap)
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0] == app_id or g[0].startswith(app_id + "-")]
        out = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            out[group] = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        return out
    finally:
        await client.quiet_stop(admin)


def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    return asyncio.run(_end_offsets(bootstrap))


def partitions_left_behind(bootstrap: str, app_id: str, ends: dict[TopicPartition, int],
                           timeout: float = 180.0) -> list[dict]:
    """Every partition, of every topic a group of the app committed on (and the batch
    loops' sources), whose committed offset is still below `ends` after `timeout` s."""
    expected_topics = {f"{app_id}-extract": {"logs.raw"}, f"{app_id}-windows": {"signals.partials"}}
    deadline = time.monotonic() + timeout
    while True:
        committed = asyncio.run(_committed(bootstrap, app_id))
        behind = []
        for group, offsets in sorted(committed.items()):
            topics = {tp.topic for tp in offsets} | expected_topics.get(group, set())
            for tp in sorted((tp for tp in ends if tp.topic in topics), key=lambda t: (t.topic, t.partition)):
                have = offsets.get(tp, 0)
                if ends[tp] > 0 and have < ends[tp]:
                    behind.append({"group": group, "topic": tp.topic, "partition": tp.partition,
                                   "committed": have, "end": ends[tp]})
        for group in set(expected_topics) - set(committed):
            behind.append({"group": group, "topic": "-", "partition": -1, "committed": 0, "end": -1})
        if not behind or time.monotonic() > deadline:
            return behind
        time.sleep(2.0)


def dead_letters(bootstrap: str) -> Counter[str]:
    return Counter(f"{d.get('stage')}:{d.get('reason')}" for d in read_json(bootstrap, "dead.letter", to_end=True))


def deliveries(cluster: Cluster, rows: list[dict]) -> dict:
    """Per outbreak row (filled in place) and overall: what the fakes received."""
    bootstrap = cluster.bootstrap
    receipts = read_json(bootstrap, "notify.receipts", to_end=True)
    outbox = {o["key"]: o for o in read_json(bootstrap, "notify.outbox", to_end=True)}  # redeliveries: one key
    creates = cluster.jira.calls("POST", "/rest/api/3/issue")
    labels = Counter(label for c in creates for label in c.body["fields"]["labels"])
    pd_events = cluster.pagerduty.events()
    posts = cluster.slack.top_level_posts()
    updates = cluster.slack.calls("POST", "/api/chat.update")
    replies = cluster.slack.replies()
    slack_ts: dict[str, set[str]] = defaultdict(set)
    for r in receipts:
        if r["channel"] == "slack" and r["kind"] == "alert" and r["status"] == "delivered":
            slack_ts[r["incident_id"]].add(r["external_ref"])
    incident_ids = set()
    for row in rows:
        row.update(jira_issues=0, pd_triggers=0, pd_resolves=0, slack_posts=0, slack_edits=0, slack_replies=0,
                   slack_extra_replies=0)
        for incident_id in row["incident_ids"]:
            incident_ids.add(incident_id)
            row["jira_issues"] += labels[f"logwarden-{incident_id}"]
            actions = [e["event_action"] for e in pd_events if e.get("dedup_key") == incident_id]
            row["pd_triggers"] += actions.count("trigger")
            row["pd_resolves"] += actions.count("resolve")
            ts = slack_ts.get(incident_id, set())
            row["slack_posts"] += len(ts)
            row["slack_edits"] += sum(1 for u in updates if u.body["ts"] in ts)
            mine = sum(1 for r in replies if r.body["thread_ts"] in ts)
            # Every message of the incident but its first alert (updates, the resolution, the
            # alert of a reopening) edits the post and replies in its thread (ROUTES: all to Slack).
            later = sum(1 for o in outbox.values() if o["incident_id"] == incident_id
                        and o["kind"] in ("alert", "update", "resolved")) - 1
            row["slack_replies"] += mine
            row["slack_extra_replies"] += max(0, mine - later)
    known_ts = {t for ts in slack_ts.values() for t in ts}
    return {
        "jira_issues": len(cluster.jira.issues),
        "jira_duplicates": sum(max(0, n - 1) for label, n in labels.items() if label.startswith("logwarden-")),
        "pd_dedup_keys": len({e.get("dedup_key") for e in pd_events}),
        "pd_keys_without_incident": sorted({e.get("dedup_key") for e in pd_events} - incident_ids),
        "slack_posts": len(posts), "slack_edits": len(updates), "slack_replies": len(replies),
        # A top-level post no receipt names: posted, then the worker died before its
        # receipt, and the next owner posted again.
        "slack_orphan_posts": sum(1 for p in posts if p.response["ts"] not in known_ts),
        "slack_incidents_posted_twice": sum(1 for ts in slack_ts.values() if len(ts) > 1),
        "receipts_failed": sum(1 for r in receipts if r["status"] == "failed"),
    }


def tally(cluster: Cluster, outbreaks: list[Outbreak], ends: dict[TopicPartition, int], log: ChaosLog) -> dict:
    events = incidents_of(cluster.bootstrap)
    rows = match_outbreaks(events, outbreaks)
    matched = {i for row in rows for i in row["incident_ids"]}
    opened = [e for e in events if e["type"] in ("opened", "reopened")]
    overall = {
        "outbreaks": len(rows), "lost": sum(1 for r in rows if r["opened"] == 0),
        "duplicate_incidents": sum(max(0, r["opened"] - 1) for r in rows),
        "stuck_open": sum(1 for r in rows if r["opened"] and not r["resolved"]),
        "unplanned_incidents": sorted({f"{e['service']}:{e['incident_id']}" for e in opened
                                       if e["incident_id"] not in matched}),
        **deliveries(cluster, rows),
        "dead_letters": dict(dead_letters(cluster.bootstrap)),
        "lines": line_accounting(cluster.bootstrap),
        "partitions_left_behind": partitions_left_behind(cluster.bootstrap, cluster.app_id, ends),
        "chaos": asdict(log),
    }
    return {"outbreaks": rows, "overall": overall}


def report_text(result: dict) -> str:
    rows = ["| outbreak | kind | incidents | resolved | Jira issues | PD trigger / resolve | Slack posts / edits / replies (extra) |",
            "|---|---|---|---|---|---|---|"]
    for r in result["outbreaks"]:
        at = time.strftime("%H:%M", time.gmtime(r["start"]))
        pd = f"{r['pd_triggers']} / {r['pd_resolves']}" if r["kind"] == "fatal" else "-"
        opened = f"{r['opened']} (reopened)" if r.get("reopened") else str(r["opened"])
        rows.append(f"| {r['service']} {at} | {r['kind']} | {opened} | {'yes' if r['resolved'] else 'NO'} "
                    f"| {r['jira_issues']} | {pd} | {r['slack_posts']} / {r['slack_edits']} / {r['slack_replies']} "
                    f"({r['slack_extra_replies']}) |")
    o, lines = result["overall"], result["overall"]["lines"]
    rows += ["", "| service | lines produced / counted | errors produced / counted |", "|---|---|---|"]
    rows += [f"| {service} | {p} / {c} | {pe} / {ce} |" for service, (p, pe, c, ce) in lines["per_service"].items()]
    rows += ["", "| overall | value |", "|---|---|",
             f"| outbreaks / lost / duplicate incidents / stuck open | {o['outbreaks']} / {o['lost']} / "
             f"{o['duplicate_incidents']} / {o['stuck_open']} |",
             f"| incidents no outbreak explains | {len(o['unplanned_incidents'])} |",
             f"| Jira issues / duplicates | {o['jira_issues']} / {o['jira_duplicates']} |",
             f"| PagerDuty dedup keys / keys of no incident | {o['pd_dedup_keys']} / {len(o['pd_keys_without_incident'])} |",
             f"| Slack posts / edits / replies | {o['slack_posts']} / {o['slack_edits']} / {o['slack_replies']} |",
             f"| Slack duplicate posts (orphan, incident posted twice) / extra replies | "
             f"{o['slack_orphan_posts']}, {o['slack_incidents_posted_twice']} / "
             f"{sum(r['slack_extra_replies'] for r in result['outbreaks'])} |",
             f"| failed receipts | {o['receipts_failed']} |",
             f"| dead letters | {sum(o['dead_letters'].values())} {o['dead_letters'] or ''} |",
             f"| lines produced / counted in windows | {lines['lines_produced']} / {lines['lines_counted']} |",
             f"| errors produced / counted | {lines['errors_produced']} / {lines['errors_counted']} |",
             f"| (service, minute) cells / mismatched / late lines | {lines['minutes']} / "
             f"{len(lines['mismatches'])} / {lines['late_lines']} |",
             f"| partitions left behind | {len(o['partitions_left_behind'])} |",
             f"| kills / restart failures / broker down (s) / workers died in the outage | {o['chaos']['kills']} / "
             f"{len(o['chaos']['restart_failures'])} / {o['chaos']['outage_s']:.0f} / {o['chaos']['died_in_outage']} |"]
    return "\n".join(rows)


def failures(result: dict) -> list[str]:
    """What misses a target (empty: every target met)."""
    o = result["overall"]
    checks = {
        "lost incidents": o["lost"], "duplicate incidents": o["duplicate_incidents"], "stuck open": o["stuck_open"],
        "duplicate Jira issues": o["jira_duplicates"], "PagerDuty keys of no incident": len(o["pd_keys_without_incident"]),
        "duplicate Slack posts": o["slack_orphan_posts"] + o["slack_incidents_posted_twice"],
        "extra Slack replies": sum(r["slack_extra_replies"] for r in result["outbreaks"]),
        "uncounted or miscounted (service, minute) cells": len(o["lines"]["mismatches"]),
        "partitions left behind": len(o["partitions_left_behind"]),
    }
    return [f"{name}: {n}" for name, n in checks.items() if n]


# --- a run ----------------------------------------------------------------------------


def drain_and_tally(cluster: Cluster, generator: Generator, outbreaks: list[Outbreak], log: ChaosLog,
                    settle_s: float) -> dict:
    """Wait for every outbreak's incident to resolve (bounded), stop the traffic at a
    minute's end, let the last windows close, then count."""
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline and not all_resolved(incidents_of(cluster.bootstrap), outbreaks):
        time.sleep(5)
    stop = math.ceil(time.time() / 60) * 60
    generator.stop_at(stop)
    outbreaks = [o for o in outbreaks if o.start < stop]  # a short run may end before its last ones
    generator.join(stop - time.time() + 60)
    print(f"[chaos] traffic stopped at {time.strftime('%H:%M:%S', time.gmtime(stop))}; waiting for the last windows",
          file=sys.stderr)
    last_minute = stop - 60
    services = set(generator.services)
    wait_until = time.monotonic() + 120
    while time.monotonic() < wait_until:
        closed = {w["service"] for w in read_json(cluster.bootstrap, "signals.windows", to_end=True)
                  if w["window_start"] >= last_minute}
        if services <= closed:
            break
        time.sleep(2)
    time.sleep(10)  # the pipeline's own cadence: notify and incidents catch up with the last windows
    ends = end_offsets(cluster.bootstrap)
    return tally(cluster, outbreaks, ends, log)


def run(cycles: int, workers: int, services_n: int, outage_s: float, seed: int, settle_s: float,
        keep: bool) -> dict:
    rnd = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="lw-chaos-"))
    services = list(SERVICE_NAMES[:services_n])
    # Kills take about cycles * (30 s + a restart); outbreaks are planned over that span.
    minutes = max(12, math.ceil(cycles * 42 / 60) + 2)
    log = ChaosLog()
    load_before = _load()
    try:
        with Cluster(tmp, workers) as cluster:
            t0 = math.ceil(time.time() / 60) * 60
            outbreaks = plan_outbreaks(t0, services, minutes)
            generator = Generator(cluster.bootstrap, services, outbreaks).start()
            print(f"[chaos] {workers} workers on {cluster.bootstrap}; {len(outbreaks)} outbreaks over "
                  f"{minutes} minutes from {time.strftime('%H:%M', time.gmtime(t0))}; {cycles} kill cycles",
                  file=sys.stderr)
            kill_cycles(cluster, cycles, rnd, log, generator, outage_s)
            result = drain_and_tally(cluster, generator, outbreaks, log, settle_s)
            result["generator"] = {"acknowledged": sum(generator.sent.values()), "failed_sends": generator.failed}
    finally:
        if keep:
            print(f"[chaos] kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    result["load"] = {"before": load_before, "after": _load()}
    result["setup"] = {"cycles": cycles, "workers": workers, "services": services_n, "outage_s": outage_s,
                       "seed": seed}
    return result


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=30, help="kill cycles (a SIGKILL and a restart each)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--services", type=int, default=6, choices=range(2, len(SERVICE_NAMES) + 1))
    parser.add_argument("--outage", type=float, default=40.0, help="seconds the broker is down half-way (0: none)")
    parser.add_argument("--settle", type=float, default=600.0, help="at most this long for every incident to resolve")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--json", type=Path, help="also write the whole tally here")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (worker logs, broker data)")
    args = parser.parse_args(argv)
    if args.workers < 2 or args.cycles < 1:
        parser.error("--workers must be >= 2 and --cycles >= 1")
    result = run(args.cycles, args.workers, args.services, args.outage, args.seed, args.settle, args.keep)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    print(report_text(result))
    print(f"\nload average before {result['load']['before']}, after {result['load']['after']}")
    missed = failures(result)
    print("targets: " + ("all met" if not missed else "NOT met: " + "; ".join(missed)))
    for m in result["overall"]["lines"]["mismatches"][:20]:
        print(f"  {m}")
    for p in result["overall"]["partitions_left_behind"][:20]:
        print(f"  {p}")
    return 0 if not missed else 1


if __name__ == "__main__":
    raise SystemExit(main())
