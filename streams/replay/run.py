"""Running one replay: namespace, inputs, the worker, waiting until it is done, the report.

Done means: the batch loops' groups have committed the end of the replay's `logs.raw`
and `signals.partials`, every stage has taken each partition it reads to its end and
holds no record (the worker's /metrics, by offsets, so a record delivered twice cannot
make it look done), and, when a partition of the input holds nothing, no topic of the
namespace has grown for `QUIET_S` (longer than the extractor takes to mark quiet
partitions idle, which closes the last windows).
The worker is a child process, stopped with SIGTERM; nothing is left running.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import IO, Any, Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from agents.extract.config import ExtractConfig
from agents.incidents.digest import DIGEST_KEY, DIGEST_TOPIC, DigestPart
from agents.incidents.lifecycle import EXPIRED_BY
from agents.service_name import service_of_line
from schemas.records import IncidentEvent, OutboxMessage, WindowSummary
from schemas.topics import TOPICS
from streams.brokers import free_port
from streams.config import Config
from streams.errors import CliError
from streams.kafka import client, expected_partitions, read_topic
from streams.kafka.admin import least_session_timeout
from streams.kafka.seek import end_offsets
from streams.produce import _Progress
from streams.replay.inputs import INPUT_TOPICS, TICK_KEY, SentBatch, copy_range, file_records, send_file_records
from streams.replay.namespace import Namespace, replay_overrides, session_timeout_s, topic_configs
from streams.replay.report import build_report, render_markdown
from streams.replay.teardown import delete_namespace

__all__ = ["QUIET_S", "pick_lines_near", "run_replay", "taken_of"]

# Only when a partition of the input holds no record at all: the extractor declares it
# idle after about 3 s without one (`agents.extract.batch.IDLE_AFTER_FLUSHES`), and until
# then it holds every window open, so the end can only be told by waiting this long.
QUIET_S = 5.0
# A worker that has not answered by then will not: a broker refusing its group join (a
# session timeout under the broker's least) left a replay waiting for its whole timeout.
READY_TIMEOUT_S = 180.0
POLL_S = 0.05  # a round without the ends is an HTTP request to the worker and two offset fetches
# What the replay's stage runners consume after extraction, every topic a stage of the
# replay worker reads one record at a time: every record of these is taken once by a
# stage (its /metrics counts them) when the replay is done.
CONSUMED = ("signals.windows", "signals.urgent", "alerts.raw", "checks.results", "ai.requests", "ai.results",
            "notify.outbox", "notify.receipts", "approvals", "incidents.actions", "incidents.clock",
            "incidents.digest")
LINES_BEFORE, LINES_FROM = 5, 15
NEAR_S = 60.0  # the lines around an incident's start: from a minute before its window to a minute after
SPAN_READ_S = 30.0  # the longest the report waits for the records of one span of them


async def _create_namespace_topics(broker: str, ns: Namespace, partitions: int, replication: int) -> float:
    """Every declared topic under the replay's prefix, with no time retention
    (`namespace.topic_configs`): the live topics' `retention.ms` would let Apache Kafka
    delete the replay's records, stamped with past event times, at its next check.
    Returns the session timeout for the replay's worker, from what the broker says of
    itself (`namespace.session_timeout_s`)."""
    admin = await client.started(client.admin(broker), broker)
    try:
        session_s = session_timeout_s(*await least_session_timeout(admin))
        for spec in TOPICS:
            topic = NewTopic(ns.prefix + spec.name, expected_partitions(spec, partitions), replication,
                             topic_configs=topic_configs(spec))
            try:
                await admin.create_topics([topic])
            except TopicAlreadyExistsError:  # another replay of the same second and label: used as it is
                pass
        return session_s
    finally:
        await client.quiet_stop(admin)


async def _send_input(cfg: Config, broker: str, ns: Namespace, files: list[str], service: str | None,
                      since: float | None, until: float | None, progress: Callable[[int], None],
                      batches: list[SentBatch]) -> int:
    """Fill the replay's input topics; `batches` gets where each batch of its `logs.raw` went."""
    if files:
        def lines():
            for name in files:
                try:
                    with open(name, "rb") as stream:
                        yield from stream
                except OSError as exc:
                    raise CliError(f"cannot read {name}: {exc.strerror}") from None

        sent, _first, _last = await send_file_records(
            broker, ns.prefix + "logs.raw", file_records(lines(), cfg.extract, service=service),
            cfg.partitions, cfg.extract, progress, batches)
        return sent
    copied = 0
    for topic in INPUT_TOPICS:
        n = await copy_range(broker, cfg.topic_prefix + topic, ns.prefix + topic, since, until,
                             batches if topic == "logs.raw" else None)
        copied += n if topic == "logs.raw" else 0
    return copied


async def _committed(group: AIOKafkaConsumer, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    # Asked through a consumer of the group that never joins it (Tansu does not answer the
    # admin client's OffsetFetch); it commits nothing.
    return {tp: await group.committed(tp) or 0 for tp in tps}


def _get(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
            return resp.read().decode()
    except OSError:
        return ""


def _ready(port: int) -> bool:
    """The worker has joined its group and holds partitions."""
    try:
        return json.loads(_get(port, "/healthz") or "{}").get("assigned_partitions", 0) > 0
    except ValueError:
        return False


def _taken(port: int) -> tuple[dict[tuple[str, int], int], float]:
    return taken_of(_get(port, "/metrics"))


def taken_of(metrics: str) -> tuple[dict[tuple[str, int], int], float]:
    """From a worker's /metrics text: per input partition the offset after the last record
    a stage took (the least over stages, were two to read one), and the records in hand."""
    taken: dict[tuple[str, int], int] = {}
    in_hand = 0.0
    for line in metrics.splitlines():
        if line.startswith("logwarden_stage_next_offset{"):
            labels, value = line[len("logwarden_stage_next_offset{"):].rsplit("} ", 1)
            fields = dict(part.split("=", 1) for part in labels.split(","))
            tp = (fields["topic"].strip('"'), int(fields["partition"].strip('"')))
            taken[tp] = min(taken.get(tp, 1 << 62), int(float(value)))
        elif line.startswith("logwarden_stage_records_in_hand "):
            in_hand = float(line.rsplit(" ", 1)[1])
    return taken, in_hand


async def _settle(broker: str, ns: Namespace, partitions: int, port: int, progress: Callable[[int], None],
                  alive: Callable[[], bool], timeout_s: float, quiet_s: float = QUIET_S) -> None:
    """Return once every record the replay holds has been taken, by offsets: the batch
    loops' groups have committed to the end of `logs.raw` and `signals.partials`, and the
    stage runners have taken every partition they read to its end with nothing in hand.
    What was taken is read before the ends, so equality means nothing taken produced
    anything not taken (a batch loop commits, and a stage runner lets go of a record, only
    after its output is acknowledged)."""
    reader = await client.started(client.consumer(broker), broker)
    groups = {name: await client.started(client.consumer(broker, group=f"{ns.app_id}-{name}"), broker)
              for name in ("extract", "windows")}
    try:
        tps = [TopicPartition(ns.prefix + spec.name, p) for spec in TOPICS for p in range(spec.partitions or partitions)]
        source = [tp for tp in tps if tp.topic == ns.prefix + "logs.raw"]
        partials = [tp for tp in tps if tp.topic == ns.prefix + "signals.partials"]
        consumed = [tp for tp in tps if tp.topic in {ns.prefix + name for name in CONSUMED}]
        reader.assign(tps)
        last_ends: dict[TopicPartition, int] | None = None
        changed = time.monotonic()
        deadline = time.monotonic() + timeout_s
        ready_by = time.monotonic() + READY_TIMEOUT_S
        ready = False

        def reached(ends: dict[TopicPartition, int], read: dict[TopicPartition, int],
                    taken: dict[tuple[str, int], int], in_hand: float) -> bool:
            return (all(read[tp] >= ends[tp] for tp in source + partials)
                    and not in_hand
                    and all(taken.get((tp.topic, tp.partition), 0) >= ends[tp] for tp in consumed))

        while True:
            if not alive():
                raise CliError("the replay worker stopped before the replay was done")
            if time.monotonic() > deadline:
                raise CliError(f"the replay did not settle within {timeout_s:.0f} s")
            ready = ready or _ready(port)
            if not ready and time.monotonic() > ready_by:
                raise CliError(f"the replay worker did not become ready within {READY_TIMEOUT_S:.0f} s")
            if ready:
                taken, in_hand = _taken(port)
                read = {**await _committed(groups["extract"], source), **await _committed(groups["windows"], partials)}
                # Ends only grow: while anything is short of the ends read last time it is
                # short of today's, so those (a fetch per partition to confirm, 0.2 s a round)
                # are asked again only once everything has reached them.
                if last_ends is None or reached(last_ends, read, taken, in_hand):
                    ends = await end_offsets(reader, tps)
                    if ends != last_ends:
                        last_ends, changed = ends, time.monotonic()
                    # A partition without any record is declared idle only after a few seconds.
                    empty = any(ends[tp] == 0 for tp in source) and any(ends[tp] for tp in source)
                    if reached(ends, read, taken, in_hand) and (not empty or time.monotonic() - changed >= quiet_s):
                        return
                progress(sum(min(last_ends[tp], read[tp]) for tp in source))
            await asyncio.sleep(POLL_S)
    finally:
        for c in (*groups.values(), reader):
            await client.quiet_stop(c)


async def _end_of_input(broker: str, ns: Namespace) -> None:
    """Tell the replay's digest agent that no part is to come (`digest_at_end_of_input`)."""
    producer = await client.started(client.producer(broker), broker)
    try:
        marker = DigestPart(service="", period_start=0.0, period_end=0.0, end_of_input=True)
        await producer.send_and_wait(ns.prefix + DIGEST_TOPIC, marker.model_dump_json().encode(),
                                     key=DIGEST_KEY.encode())
    finally:
        await client.quiet_stop(producer)


async def _records(broker: str, topic: str, record: Any) -> list[Any]:
    out = []
    async for _p, _o, _k, value in read_topic(broker, topic, to_end=True):
        try:
            out.append(record.model_validate_json(value))
        except ValueError:
            continue
    return out


def _near_ranges(starts: dict[str, tuple[str, float]]) -> list[tuple[float, float]]:
    """The merged time ranges [from, to) the lines around the incidents' starts lie in."""
    spans = sorted((start - NEAR_S, start + NEAR_S) for _service, start in starts.values())
    merged: list[tuple[float, float]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def pick_lines_near(records: Iterable[tuple[float, int, bytes | None, bytes]], starts: dict[str, tuple[str, float]],
                    extract: ExtractConfig) -> dict[str, list[str]]:
    """incident id -> the lines of its service a little before its window and from its
    start (`LINES_BEFORE`, `LINES_FROM`), in time order, from `records` (timestamp s,
    offset, key, value) of the replay's `logs.raw`. A line's service is read by the one
    rule, key last (as extraction reads it): a topic replay copies what the shippers
    sent, and many send no key."""
    wanted: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for incident_id, (service, start) in starts.items():
        wanted[service].append((incident_id, start))
    found: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for at, offset, key, value in records:
        if key == TICK_KEY:
            continue
        service = service_of_line(value, key, extract.service_fields, extract.service_map)
        for incident_id, start in wanted.get(service, ()):
            if start - NEAR_S <= at < start + NEAR_S:
                found[incident_id].append((at, offset, value.decode(errors="replace")))
    out = {}
    for incident_id, rows in found.items():
        start = starts[incident_id][1]
        rows.sort()
        out[incident_id] = ([v for t, _o, v in rows if t < start][-LINES_BEFORE:]
                            + [v for t, _o, v in rows if t >= start][:LINES_FROM])
    return out


def _spans(batches: list[SentBatch], ranges: list[tuple[float, float]]) -> dict[int, list[tuple[int, int]]]:
    """partition -> [first offset, end offset) of the batches holding a record in `ranges`
    (each batch's earliest and latest record times say whether it may), adjacent ones joined."""
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for batch in sorted(batches, key=lambda b: (b.partition, b.offset)):
        if not any(batch.first_ms < hi * 1000 and batch.last_ms >= lo * 1000 for lo, hi in ranges):
            continue
        spans = out[batch.partition]
        if spans and spans[-1][1] == batch.offset:
            spans[-1] = (spans[-1][0], batch.offset + batch.count)
        else:
            spans.append((batch.offset, batch.offset + batch.count))
    return dict(out)


async def _records_in(broker: str, topic: str, spans: dict[int, list[tuple[int, int]]],
                      ranges: list[tuple[float, float]]) -> list[tuple[float, int, bytes | None, bytes]]:
    """The records of `topic` in `spans` with timestamps in `ranges`: the few batches around
    the incidents, not the whole topic (a replay of two million lines holds them all).
    The partitions are read together, each span after span: a fetch is a broker round
    trip (Tansu holds one about half its wait), and one span after another of the
    199,085-line day took 0.6 s of a replay's report."""
    out: list[tuple[float, int, bytes | None, bytes]] = []
    within = [(lo * 1000, hi * 1000) for lo, hi in ranges]
    reader = await client.started(client.consumer(broker), broker)
    try:
        left = {TopicPartition(topic, p): list(found) for p, found in spans.items() if found}
        reader.assign(list(left))
        for tp, todo in left.items():
            reader.seek(tp, todo[0][0])
        deadline = time.monotonic() + SPAN_READ_S
        while left and time.monotonic() < deadline:
            fetched = await reader.getmany(*left, timeout_ms=1000, max_records=5_000)
            for tp, records in fetched.items():
                todo = left.get(tp)
                if not todo or not records:
                    continue
                begin, end = todo[0]
                for rec in records:
                    if rec.offset >= end:
                        break
                    ts = rec.timestamp
                    if rec.offset >= begin and any(lo <= ts < hi for lo, hi in within):
                        out.append((ts / 1000, rec.offset, rec.key, rec.value or b""))
                if records[-1].offset + 1 < end:
                    continue
                todo.pop(0)
                deadline = time.monotonic() + SPAN_READ_S  # the next span has its own time
                if todo:
                    reader.seek(tp, todo[0][0])
                else:
                    reader.pause(tp)  # nothing more of it: not fetched on
                    del left[tp]
    finally:
        await client.quiet_stop(reader)
    return out


async def _lines_near(broker: str, topic: str, batches: list[SentBatch], starts: dict[str, tuple[str, float]],
                      extract: ExtractConfig) -> dict[str, list[str]]:
    """incident id -> lines of its service from a little before its window to after it."""
    ranges = _near_ranges(starts)
    spans = _spans(batches, ranges)
    return pick_lines_near(await _records_in(broker, topic, spans, ranges), starts, extract) if spans else {}


async def _collect(broker: str, ns: Namespace, batches: list[SentBatch], extract: ExtractConfig,
                   meta: dict[str, Any]) -> dict[str, Any]:
    events = await _records(broker, ns.prefix + "incidents.events", IncidentEvent)
    outbox = await _records(broker, ns.prefix + "notify.outbox", OutboxMessage)
    windows = await _records(broker, ns.prefix + "signals.windows", WindowSummary)
    audits = [json.loads(v) async for _p, _o, _k, v in read_topic(broker, ns.prefix + "ai.audit", to_end=True)]
    asked = [a for a in audits if a.get("provider") != EXPIRED_BY]  # not the reducer's own records
    cached = sum(1 for a in asked if a.get("outcome") == "cached")
    expired = sum(1 for a in asked if a.get("outcome") == "expired")
    meta["ai"] = {"requests": len(asked), "recorded": cached, "expired_live": expired,
                  "local": len(asked) - cached - expired}
    starts = {ev.incident_id: (ev.service, float(ev.data.get("window_start", ev.at)))
              for ev in events if ev.type == "opened"}
    near = await _lines_near(broker, ns.prefix + "logs.raw", batches, starts, extract)
    return build_report(meta, events, outbox, windows, near)


def _start_worker(cfg: Config, broker: str, ns: Namespace, directory: Path, *, answers: str | None,
                  config_path: str | None, notify: bool, session_s: float) -> tuple[subprocess.Popen, int]:
    port = free_port()
    overrides = replay_overrides(ns, cfg.data_dir, port, notify=notify, session_s=session_s)
    overrides["broker"] = broker
    cmd = [sys.executable, "-m", "streams.replay.worker", json.dumps(overrides)]
    if answers is not None:  # the live topics' prefix: reuse their answers
        cmd += ["--live-prefix", answers]
    if config_path:
        cmd += ["-c", config_path]
    with open(directory / "worker.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, port


def _stop_worker(proc: subprocess.Popen, *, signalled: bool = False) -> None:
    """Stop the worker (SIGTERM, unless `signalled` already) and wait for it."""
    if proc.poll() is None:
        if not signalled:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_replay(cfg: Config, broker: str, *, files: list[str] | None = None, service: str | None = None,
               since: float | None = None, until: float | None = None, config_path: str | None = None,
               notify: bool = False, label: str = "", reuse_answers: bool = True, timeout_s: float = 3600.0,
               keep: bool = False, err: IO[str] = sys.stderr) -> tuple[dict[str, Any], Path]:
    """Run one replay to the end; returns the report and the directory it was written to.
    The namespace's topics and groups are deleted at the end (also after a failure)
    unless `keep`."""
    ns = Namespace.new(label)
    directory = ns.directory(cfg.data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    err.write(f"logwarden: replay {ns.replay_id} in namespace {ns.prefix}* (group {ns.app_id})\n")
    session_s = asyncio.run(_create_namespace_topics(broker, ns, cfg.partitions, cfg.replication_factor))
    answers = cfg.topic_prefix if reuse_answers and not files else None

    def start() -> tuple[subprocess.Popen, int]:
        return _start_worker(cfg, broker, ns, directory, answers=answers, config_path=config_path, notify=notify,
                             session_s=session_s)

    proc: subprocess.Popen | None = None
    try:
        # A file's lines are all the input: the worker starts (seconds of imports, group
        # joins) while they are sent. A copy of the live topics is complete before the
        # worker starts, so that every input topic is whole when the stages read it.
        if files:
            proc, port = start()
        batches: list[SentBatch] = []
        lines = asyncio.run(_send_input(cfg, broker, ns, files or [], service, since, until, lambda n: None, batches))
        sent_s = time.monotonic() - started
        err.write(f"logwarden: {lines:,} input lines in the replay's logs.raw; running the pipeline\n")
        if proc is None:
            proc, port = start()
        progress = _Progress(max(lines, 1), err)
        progress.enabled = lines >= 10_000 and err.isatty()
        worker = proc
        def settle(quiet_s: float = QUIET_S) -> None:
            try:
                asyncio.run(_settle(broker, ns, cfg.partitions, port, lambda done: progress.update(done, done),
                                    lambda: worker.poll() is None, timeout_s, quiet_s))
            except CliError as exc:
                raise CliError(f"{exc}; what it said is in {directory / 'worker.log'}") from None

        settle()
        # Every input is in: the digests held until now go out, then everything they cause
        # (an empty input partition was waited for once already).
        asyncio.run(_end_of_input(broker, ns))
        settle(quiet_s=0.0)
        progress.update(lines, lines, final=True)
        seconds = time.monotonic() - started
        # Everything is on the broker: the worker stops (leaving its groups, closing its
        # connections) while the report is read from there, not before.
        proc.send_signal(signal.SIGTERM)
        meta = {"replay_id": ns.replay_id, "namespace": ns.prefix, "group": ns.app_id,
                "source": ", ".join(files) if files else f"topics {', '.join(cfg.topic_prefix + t for t in INPUT_TOPICS)}",
                "since": since, "until": until, "lines": lines, "seconds": round(seconds, 2),
                "lines_per_s": round(lines / seconds, 1) if seconds > 0 else 0.0,
                "phases_s": {"input": round(sent_s, 2), "pipeline": round(seconds - sent_s, 2)},
                "notify": "sent through the configured channels" if notify
                          else f"written to {directory / 'notifications.jsonl'}, sent to nobody"}
        collect_at = time.monotonic()
        report = asyncio.run(_collect(broker, ns, batches, cfg.extract, meta))
        report["phases_s"]["report"] = round(time.monotonic() - collect_at, 2)
        _stop_worker(proc, signalled=True)
        report["phases_s"]["worker_stop"] = round(time.monotonic() - collect_at, 2)  # beside the report
    finally:
        if proc is not None:
            _stop_worker(proc)
        if keep:
            err.write(f"logwarden: kept the replay's topics {ns.prefix}* and {ns.app_id}-* and its groups "
                      f"(--keep)\n")
        else:
            _delete(broker, ns, err)
    (directory / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    (directory / "report.md").write_text(render_markdown(report))
    return report, directory


def _delete(broker: str, ns: Namespace, err: IO[str]) -> None:
    try:
        topics, groups, problems = asyncio.run(delete_namespace(broker, ns))
    except Exception as exc:  # noqa: BLE001 - the replay itself is done: say it, do not fail it
        err.write(f"logwarden: could not delete the replay's topics {ns.prefix}* ({exc.__class__.__name__}); "
                  f"delete them by hand\n")
        return
    err.write(f"logwarden: deleted the replay's {len(topics)} topics and {len(groups)} consumer groups\n")
    for problem in problems:
        err.write(f"logwarden: not deleted: {problem}\n")
