"""`logwarden replay` and `logwarden backtest` end to end: the file replay and the live
determinism and isolation test and the backtest, each on both embedded brokers; after
each replay the broker holds no topic and no consumer group of its namespace.

Input: a generated past day of `docker compose logs` from five services
(`ops.bench.replay_day`, real line shapes) with planted incidents, a known issue coming
back and a one-off. What is expected comes from the generator's plan, never from the
code under test: each incident opens in the window of its first minute (the alert at
that window's end), resolves once `resolve_after` clean windows followed its last error
minute, and nothing else is opened. Then determinism: a live worker's run and a replay
of its topics give the same incident events, and the replay, run beside the live worker,
changes nothing it sees.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from ops.bench.replay_day import DAY, ONEOFF, PLAN, write_day
from schemas.records import encode_tick
from schemas.topics import TOPICS
from streams.demo import scenario
from streams.kafka import client, create_topics
from streams.kafka.reader import partitions_of
from streams.kafka.seek import end_offsets
from tests.conftest import run_cli
from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, minute_lines, produce, read_json, wait_for
from tests.e2e.test_ai_e2e import API_KEY as AI_KEY
from tests.e2e.test_ai_e2e import ERROR as AI_ERROR
from tests.e2e.test_ai_e2e import SERVICE as AI_SERVICE
from tests.e2e.test_ai_e2e import ThreadedFake

pytestmark = pytest.mark.broker

LINES = 20_000
WINDOW = 60.0
UPDATE_INTERVAL_S = 300.0  # the default `incidents.update_interval_s`
TICK_S = 5.0  # event time between two ticks of the live run


def _resolved_at(planted, resolve_after: int) -> float:
    # the last error window, then `resolve_after` clean ones: resolved at the end of the last of them
    return planted.last_error_window_start + (resolve_after + 1) * WINDOW


def _pages(planted, resolve_after: int) -> int:
    # the first alert (at the end of the first window) and the resolution, and an update
    # every `update_interval_s` after the alert while the incident is still open (one due
    # with the resolution's window is not sent: the incident is resolved by then)
    alerted_for = _resolved_at(planted, resolve_after) - (planted.window_start + WINDOW)
    return 2 + math.ceil(alerted_for / UPDATE_INTERVAL_S) - 1


@pytest.fixture(scope="module")
def day_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "compose-2026-11-23.log"
    write_day(path, LINES)
    return path


def _replay(cli_env, bootstrap: str, *args: str, timeout: float = 600) -> dict:
    env = dict(cli_env, LOGWARDEN_BROKER=bootstrap)
    res = run_cli([*args, "--json"], env, timeout=timeout)
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    return json.loads(res.stdout)


def test_file_replay_finds_every_planted_incident_at_its_minute_and_nothing_else(broker, cli_env, day_file):
    # On both brokers: the day is older than the retention of `logs.raw`, which Apache
    # Kafka enforces by record timestamps (the replay's topics keep records of any age).
    report = _replay(cli_env, broker.bootstrap, "replay", str(day_file))

    assert report["lines"] == sum(1 for line in day_file.read_bytes().splitlines() if line.strip())
    got = sorted((i["service"], i["window_start"], i["opened_at"], i["resolved_at"]) for i in report["incidents"])
    want = sorted((p.service, p.window_start, p.window_start + WINDOW, _resolved_at(p, 5)) for p in PLAN)
    assert got == want
    service, minute, _msg = ONEOFF
    assert [(o["service"], o["at"]) for o in report["oneoffs"]] == [(service, DAY + (minute + 1) * WINDOW)]
    # The outage coming back in the evening is the registry's known issue: linked, not ticketed again.
    evening = next(i for i in report["incidents"] if i["window_start"] == PLAN[-1].window_start)
    assert "registry_matched" in [e["type"] for e in evening["timeline"]]
    assert evening["tickets"] == []
    # The lines around each start are the service's own, one run of them as the file has
    # them (the file is in time order), from before the window opened to after.
    text = day_file.read_text(encoding="utf-8").splitlines()
    for inc in report["incidents"]:
        own = [line for line in text if line.startswith(inc["service"] + " ")]
        near = inc["lines_around_start"]
        assert near and near[0] in own, inc["service"]
        at = own.index(near[0])
        assert near == own[at:at + len(near)]
    assert report["ai"]["recorded"] == 0 and report["ai"]["local"] == report["ai"]["requests"] > 0
    # Nothing of the replay is left on the broker: no topic of its namespace, no group.
    assert _namespace_on_broker(broker.bootstrap, report) == ([], [])


def _namespace_on_broker(bootstrap: str, report: dict) -> tuple[list[str], list[str]]:
    """Topics and consumer groups the broker lists under the replay's prefix and app id."""
    async def ask():
        admin = await client.started(client.admin(bootstrap), bootstrap)
        try:
            topics = await admin.list_topics()
            groups = [g[0] for g in await admin.list_consumer_groups()]
        finally:
            await client.quiet_stop(admin)
        mine = (report["namespace"], report["group"])
        return sorted(t for t in topics if t.startswith(mine)), sorted(g for g in groups if g.startswith(mine))

    return asyncio.run(ask())


def test_replay_with_keep_leaves_its_topics_and_groups_for_inspection(broker, cli_env, tmp_path):
    log = tmp_path / "three.log"
    log.write_text("2026-11-23 10:00:01,000 INFO [api] started\n2026-11-23 10:00:02,000 ERROR [api] boom\n"
                   "2026-11-23 10:00:03,000 INFO [api] ok\n")
    report = _replay(cli_env, broker.bootstrap, "replay", "--service", "api", "--keep", str(log))

    assert report["lines"] == 3
    topics, groups = _namespace_on_broker(broker.bootstrap, report)
    # every declared topic under the prefix, and the groups of Faust and of both batch loops
    assert sorted(t for t in topics if t.startswith(report["namespace"])) == sorted(
        report["namespace"] + spec.name for spec in TOPICS)
    assert groups == sorted([report["group"], report["group"] + "-extract", report["group"] + "-windows"])


@pytest.mark.timeout(600)  # two whole replays of the day, one after the other
def test_backtest_shows_earlier_resolution_and_the_ignored_incident_gone_and_nothing_else(
        broker, cli_env, day_file, tmp_path):
    ignored = next(p for p in PLAN if p.service == "search-1")
    candidate = tmp_path / "candidate.toml"
    candidate.write_text('[incidents]\nresolve_after = 2\n\n'
                         '[extract]\nignore_patterns = ["upstream timeout talking to the index"]\n')
    diff = _replay(cli_env, broker.bootstrap, "backtest", str(day_file), "--candidate", str(candidate),
                   timeout=900)

    assert [(c["change"], c["service"], len(c["current"]), c["candidate"]) for c in diff["incidents"]] == [
        ("missed", ignored.service, 1, [])]
    kept = [p for p in PLAN if p is not ignored]
    assert sorted((r["current"], r["candidate"]) for r in diff["resolved_at"]) == sorted(
        (_resolved_at(p, 5), _resolved_at(p, 2)) for p in kept)
    assert all(r["current"] - r["candidate"] == 3 * WINDOW for r in diff["resolved_at"])
    # Per service: the ignored service loses its incident, pages and ticket; the others lose
    # the update page of every incident that is now resolved before its update was due.
    want = []
    for service in sorted({p.service for p in PLAN}):
        mine = [p for p in PLAN if p.service == service]
        now = sum(_pages(p, 5) for p in mine)
        if service == ignored.service:
            want.append({"service": service, "incidents": {"current": len(mine), "candidate": 0},
                         "pages": {"current": now, "candidate": 0}, "tickets": {"current": 1, "candidate": 0},
                         "first_alert_s": {"current": [WINDOW], "candidate": []}})
        elif now != sum(_pages(p, 2) for p in mine):
            want.append({"service": service, "pages": {"current": now, "candidate": sum(_pages(p, 2) for p in mine)}})
    assert diff["services"] == want


def _live_scenario(t0: float, minutes: int, tail_minutes: int, partitions: int):
    """The demo scenario's lines (three services: an outage with tracebacks, a known issue
    coming back, a one-off) with the clock in the log as the ticks stage writes it into
    `logs.raw`: every `TICK_S` of event time a tick on every partition, all at event time.
    Not into `incidents.clock`: a replay does not copy it, and written all at once it lets
    the live reducer read the clock far ahead of the windows it belongs between (measured
    on Kafka: updates and a resolution at tick times where the replay has window ends).
    Yields (topic, key, value, partition or None, timestamp)."""
    lines = [(ts, service, line) for _m, service, line, ts in scenario(t0, minutes)]
    end = t0 + (minutes + tail_minutes) * 60
    ticks = [t0 + TICK_S * (i + 1) for i in range(int((end - t0) // TICK_S))]
    merged = sorted([(ts, 0, "line", service, line) for ts, service, line in lines]
                    + [(ts, 1, "tick", "", "") for ts in ticks], key=lambda item: (item[0], item[1]))
    for ts, _order, kind, service, line in merged:
        if kind == "line":
            yield "logs.raw", service.encode(), line.encode(), None, ts
            continue
        for p in range(partitions):
            yield "logs.raw", b"__tick__", encode_tick(ts), p, ts


def test_replay_of_the_live_topics_gives_the_live_incident_events_and_leaves_the_live_worker_alone(
        broker, cli_env, tmp_path):
    bootstrap = broker.bootstrap
    prefix = f"live-{uuid.uuid4().hex[:8]}."
    app_id = f"lw-live-{prefix[5:-1]}"
    # An hour boundary two hours ago: within the retention of the live topics, as the
    # retained input a user replays is (Apache Kafka deletes records older than a topic's
    # `retention.ms` by their timestamps; `logs.raw` keeps 3 days).
    t0 = (time.time() // 3600 - 2) * 3600
    minutes, tail = 24, 8
    asyncio.run(create_topics(bootstrap, 4, prefix=prefix))
    # The live worker creates its tables' changelogs before joining its group (it once
    # joined first on Kafka and lost its first notifications: tests/integration/test_changelogs.py).
    env = base_env(tmp_path, bootstrap, app_id, LOGWARDEN_STAGES=NO_TICKS, LOGWARDEN_TOPIC_PREFIX=prefix)
    worker = WorkerProcess(env, tmp_path / "live").start()
    try:
        async def produce():
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
            await producer.start()
            try:
                futs = [await producer.send(prefix + topic, value, key=key, partition=p, timestamp_ms=int(ts * 1000))
                        for topic, key, value, p, ts in _live_scenario(t0, minutes, tail, 4)]
                await asyncio.gather(*futs)
            finally:
                await producer.stop()

        asyncio.run(produce())
        live = _settled_events(bootstrap, prefix + "incidents.events", worker)
        # Isolation: the replay runs beside the live worker, which is still up.
        before = _live_state(bootstrap, prefix, app_id, tmp_path / "lw")
        env = dict(cli_env, LOGWARDEN_BROKER=bootstrap, LOGWARDEN_TOPIC_PREFIX=prefix)
        res = run_cli(["replay", "--since", str(t0), "--until", str(t0 + (minutes + tail) * 60), "--json"], env,
                      timeout=600)
        after = _live_state(bootstrap, prefix, app_id, tmp_path / "lw")
        assert worker.proc.poll() is None, worker.tail()
    finally:
        worker.stop()
    types = [e["type"] for e in live]
    # two incidents, the known search timeout coming back (reopened), the one-off ticketed
    assert types.count("opened") == 2 and "reopened" in types and "oneoff_ticketed" in types, "\n".join(
        f'{e["incident_id"]} {e["type"]} {e["at"] - t0}' for e in live)
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    replayed = json.loads(res.stdout)["events"]
    # Nothing the live worker sees changed: no record on its topics (its changelogs
    # included), no offset of its consumer groups, nothing on its notification channel.
    assert after == before

    def key(e):
        return (e["event_id"], e["incident_id"], e["type"], e["at"], json.dumps(e["data"], sort_keys=True))

    # Partitions are read one after another, so only the order within a service is defined:
    # compare each service's events in order.
    def by_service(events):
        out: dict[str, list] = {}
        for e in events:
            out.setdefault(e["service"], []).append(key(e))
        return out

    got, want = by_service(replayed), by_service(live)
    assert got == want, "\n".join(f"{s}: live-only {[k for k in want.get(s, []) if k not in got.get(s, [])]} "
                                  f"replay-only {[k for k in got.get(s, []) if k not in want.get(s, [])]}"
                                  for s in sorted(set(got) | set(want)))


def _settled_events(bootstrap: str, topic: str, worker, quiet_s: float = 8.0, timeout: float = 240) -> list[dict]:
    """incidents.events once the third resolution is in and nothing new came for `quiet_s`
    (an absence can only be waited for)."""
    wait_for(bootstrap, topic, lambda evs: sum(e["type"] == "resolved" for e in evs) >= 3, timeout=timeout,
             worker=worker)
    return _settled(bootstrap, topic, quiet_s)


def _live_state(bootstrap: str, prefix: str, app_id: str, data_dir) -> dict:
    """What a live worker sees: the end of every partition of its topics and changelogs,
    the committed offsets of its groups (Faust's and the batch loops'), its notifications."""
    async def offsets():
        admin = await client.started(client.admin(bootstrap), bootstrap)
        try:
            topics = sorted(t for t in await admin.list_topics() if t.startswith((prefix, app_id + "-")))
        finally:
            await client.quiet_stop(admin)
        tps = [TopicPartition(t, p) for t in topics for p in sorted(await partitions_of(bootstrap, t))]
        reader = await client.started(client.consumer(bootstrap), bootstrap)
        try:
            reader.assign(tps)
            ends = {f"{tp.topic}/{tp.partition}": e for tp, e in (await end_offsets(reader, tps)).items()}
        finally:
            await client.quiet_stop(reader)
        committed = {}
        for group in (app_id, f"{app_id}-extract", f"{app_id}-windows"):
            member = await client.started(client.consumer(bootstrap, group=group), bootstrap)
            try:  # asked without joining: commits nothing
                for tp in tps:
                    if tp.topic.startswith(prefix):
                        committed[f"{group} {tp.topic}/{tp.partition}"] = await member.committed(tp)
            finally:
                await client.quiet_stop(member)
        return ends, committed

    ends, committed = asyncio.run(offsets())
    notes = data_dir / "notifications.jsonl"
    reports = data_dir / "reports"
    return {"ends": ends, "committed": committed,
            "notifications": notes.read_bytes() if notes.exists() else b"",
            "reports": sorted(p.name for p in reports.iterdir()) if reports.exists() else []}


@pytest.mark.parametrize("broker", ["tansu"], indirect=True)
def test_replay_of_a_live_run_decides_as_the_live_model_did(broker, cli_env, tmp_path):
    """A live worker classified with a model (a local fake of the Anthropic Messages API:
    P1, "MODEL: the ledger database refuses connections"); the replay of its topics reads
    the day's windows in a second, far ahead of any answer sent through its own topics,
    and still decides with the model's answers, event for event as live."""
    bootstrap = broker.bootstrap
    prefix = f"live-{uuid.uuid4().hex[:8]}."
    app_id = f"lw-ai-{prefix[5:-1]}"
    t0 = (time.time() // 3600 - 2) * 3600
    asyncio.run(create_topics(bootstrap, 4, prefix=prefix))
    with ThreadedFake() as fake:
        env = base_env(tmp_path, bootstrap, app_id, LOGWARDEN_STAGES=NO_TICKS, LOGWARDEN_TOPIC_PREFIX=prefix,
                       LOGWARDEN_AI__PROVIDER="anthropic", LOGWARDEN_AI__BASE_URL=fake.base_url,
                       LOGWARDEN_AI__API_KEY=AI_KEY)
        worker = WorkerProcess(env, tmp_path / "live").start()
        try:
            lines = [line for m in range(4) for line in minute_lines(AI_SERVICE, t0, m, errors=[AI_ERROR] * 3
                                                                     if m == 2 else None)]
            produce(bootstrap, lines, prefix=prefix)
            # Live, event time moves with the log: the model answers, and the incident takes
            # the answer in (its registry entry), before the next minutes come. The answer
            # on `ai.results` alone is not enough: the reducer reads that topic beside the
            # windows', and the next windows could reach it first and time the request out
            # in event time (as in test_ai_e2e).
            wait_for(bootstrap, prefix + "ai.results", lambda rs: any(r["task"] == "classify" for r in rs),
                     worker=worker)
            wait_for(bootstrap, prefix + "incidents.events", lambda evs: any(e["type"] == "registry_added" for e in evs),
                     worker=worker)
            produce(bootstrap, [line for m in range(4, 11) for line in minute_lines(AI_SERVICE, t0, m)],
                    prefix=prefix)
            wait_for(bootstrap, prefix + "incidents.events", lambda evs: any(e["type"] == "resolved" for e in evs),
                     worker=worker)
            live = _settled(bootstrap, prefix + "incidents.events")
        finally:
            worker.stop()
    assert any(e["severity"] == "P1" for e in live), live  # the model's severity (the fake's answer)
    env = dict(cli_env, LOGWARDEN_BROKER=bootstrap, LOGWARDEN_TOPIC_PREFIX=prefix)
    res = run_cli(["replay", "--since", str(t0), "--until", str(t0 + 11 * 60), "--json"], env, timeout=600)
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    report = json.loads(res.stdout)

    def key(e):
        return (e["event_id"], e["type"], e["at"], e["severity"], json.dumps(e["data"], sort_keys=True))

    assert [key(e) for e in report["events"]] == [key(e) for e in live]
    assert report["ai"]["recorded"] >= 1 and report["ai"]["local"] == 0, report["ai"]


def _settled(bootstrap: str, topic: str, quiet_s: float = 5.0) -> list[dict]:
    """The topic's records once nothing new came for `quiet_s` (an absence can only be waited for)."""
    events, since = read_json(bootstrap, topic, idle=0.5), time.monotonic()
    while time.monotonic() - since < quiet_s:
        now = read_json(bootstrap, topic, idle=0.5)
        if len(now) != len(events):
            events, since = now, time.monotonic()
    return events
