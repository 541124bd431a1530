"""The Faust app factory: one app, the declared topics, and the stages wired in.

Stages are registered from one explicit dict (no folder scanning). Each stage's
`register(stage, cfg)` declares its inputs, tables, handlers and web views against a
`StageRunner` (`streams.stage`); the app wires batch loops in as services.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.gateway.web import harden, server_options
from agents.redact import configure as configure_redaction
from schemas.records import Clock, encode, encode_tick
from streams.config import Config
from streams.kafka.batch import BatchService, BatchSpec, Extractor
from streams.kafka.client import FETCH_MAX_WAIT_MS, no_topic_auto_creation
from streams.stage import StageRunner
from streams.topology import Topology

__all__ = ["STAGES", "create_app"]

log = logging.getLogger(__name__)

Register = Callable[..., None]  # (StageRunner, Config, **stage options)


def _stages() -> dict[str, Register]:
    # Imported here so `streams.config` stays importable without the agent modules.
    from agents.ai.agent import register as ai
    from agents.baselines.agent import register as baselines
    from agents.checks.agent import register as checks
    from agents.executor.agent import register as executor
    from agents.extract.agent import register as extract
    from agents.gateway.agent import register as gateway
    from agents.incidents.agent import register as incidents
    from agents.notify.agent import register as notify

    return {"extract": extract, "incidents": incidents, "ai": ai, "notify": notify, "gateway": gateway,
            "checks": checks, "baselines": baselines, "executor": executor}


STAGES = ("ticks", "web", "extract", "incidents", "ai", "notify", "gateway", "checks", "baselines", "executor")


def _short_fetch_wait() -> None:
    """Faust builds its consumer with `fetch_max_wait_ms=1500`, fixed: give it the
    project's wait (`streams.kafka.client.FETCH_MAX_WAIT_MS`, why there). Once per process."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    create = AIOKafkaConsumerThread._create_worker_consumer
    if getattr(create, "logwarden_fetch_wait", False):
        return

    def _create_worker_consumer(self, transport):  # noqa: ANN001, ANN202 - Faust's signature
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by aiokafka when it starts its fetcher
        return consumer

    _create_worker_consumer.logwarden_fetch_wait = True  # type: ignore[attr-defined]
    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer


def _confirmed_changelog_ends() -> None:
    """Faust's table recovery takes each changelog partition's end from ListOffsets, which
    the embedded Tansu answers with the base offset of the partition's last record batch
    + 1, short of the later records of that batch (`streams.kafka.seek`). Recovery then
    stopped before the last state writes of a partition, or, taking back a partition it
    had read further before, raised `ConsistencyError` ("persisted offset ... is higher
    than the last offset") and stopped the worker: seen in the two-worker test on Tansu
    once changelog writes went out several to a batch. The ends are confirmed by a fetch
    on a reader of their own (Faust's consumer must not move). Once per process."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    highwaters = AIOKafkaConsumerThread._highwaters
    if getattr(highwaters, "logwarden_confirmed", False):
        return

    async def _highwaters(self, partitions):  # noqa: ANN001, ANN202 - Faust's signature
        ends = dict(await highwaters(self, partitions))
        if self.consumer.in_transaction or not any(ends.values()):
            return ends
        from aiokafka import TopicPartition

        from streams.kafka import client
        from streams.kafka.seek import end_offsets

        brokers = ",".join(f"{url.host}:{url.port}" for url in self.app.conf.broker)
        # Faust's TP is a tuple of its own: aiokafka's reader wants its TopicPartition.
        tps = {TopicPartition(tp.topic, tp.partition): tp for tp in partitions}
        reader = await client.started(client.consumer(brokers), brokers)
        try:
            reader.assign(list(tps))
            confirmed = {tps[tp]: end for tp, end in (await end_offsets(reader, list(tps))).items()}
        finally:
            await client.quiet_stop(reader)
        return {tp: max(ends.get(tp) or 0, confirmed.get(tp) or 0) for tp in partitions}

    _highwaters.logwarden_confirmed = True  # type: ignore[attr-defined]
    AIOKafkaConsumerThread._highwaters = _highwaters


def _table_manager() -> type:
    """Faust's table manager without the second its start begins with, a pause for tables
    declared after the app has started (`TableManager.on_start`: `sleep(1.0)`). Every
    table here is declared by `create_app`, before the start (one declared later is an
    error Faust raises: "Too late to add tables"). Every worker start, restart and replay
    waited it: a replay worker's log showed "Waiting for tables to be registered" 1.0 s
    before the first table started, with nothing else to do. Through Faust's own
    `TableManager` setting."""
    from faust.tables import TableManager

    class PromptTableManager(TableManager):
        async def on_start(self) -> None:
            if not self.should_stop:
                await self._update_channels()
                await self.recovery.start()

    return PromptTableManager


ORPHAN_WAIT_S = 3.0


def _bounded_wait_empty() -> None:
    """Faust's consumer, before a rebalance or a stop lets partitions go, waits until every
    record its streams took is acknowledged by every stream it was delivered to, with no
    end. Seen in the two-worker test on a loaded machine: a record of `signals.windows`
    (read by three stages) waited on with one acknowledgement missing while no handler of
    any stage was working on anything (measured with a stack dump of every handler that
    ran over 8 s: none), so the rebalance never ended (the joining worker got no partition
    in 90 s) or the stop was cut after 20 s. The wait now ends once no handler has had a
    record in hand for ORPHAN_WAIT_S: such a record is not committed (Faust commits only
    up to the first unacknowledged offset), so the partition's next owner reads it again
    and the redelivery guards make that harmless. While a handler works, the wait is
    Faust's own (the partition must not change hands under a write). Once per process."""
    from faust.transport.consumer import CONSUMER_WAIT_EMPTY, Consumer
    from mode import Service

    from streams.stage import in_hand

    if getattr(Consumer.wait_empty, "logwarden_bounded", False):
        return

    @Service.transitions_to(CONSUMER_WAIT_EMPTY)
    async def wait_empty(self) -> None:  # noqa: ANN001 - Faust's signature
        idle_since: float | None = None
        while not self.should_stop and self._unacked_messages:
            if in_hand():
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= ORPHAN_WAIT_S:
                held = sorted((m.tp.topic, m.tp.partition, m.offset) for m in self._unacked_messages)
                log.warning("rebalance: %d record(s) taken but held by no handler for %.0f s, e.g. %s; "
                            "not waiting for them (uncommitted: their next owner reads them again)",
                            len(held), ORPHAN_WAIT_S, ", ".join(f"{t}[{p}]@{o}" for t, p, o in held[:3]))
                break
            await self.commit()
            if not self._unacked_messages:
                break
            await self._wait_for_ack(timeout=0.5)
            self._clean_unacked_messages()
        await self.commit_and_end_transactions()

    wait_empty.logwarden_bounded = True  # type: ignore[attr-defined]
    Consumer.wait_empty = wait_empty


def create_app(cfg: Config, *, stages: tuple[str, ...] | None = None,
               clock: Callable[[], float] = time.time,
               stage_options: dict[str, dict[str, Any]] | None = None) -> faust.App:
    """`stage_options`: keyword arguments for a stage's `register` (a replay's answers for the incident stage)."""
    if not cfg.broker:
        raise ValueError("create_app needs cfg.broker (an embedded broker is started by the CLI)")
    broker = cfg.broker if "://" in cfg.broker else f"kafka://{cfg.broker}"
    datadir = Path(cfg.data_dir) / "faust" / cfg.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    _short_fetch_wait()
    _confirmed_changelog_ends()
    _bounded_wait_empty()
    no_topic_auto_creation()
    app = faust.App(
        cfg.app_id,
        broker=broker,
        store="memory://",
        autodiscover=False,
        datadir=str(datadir),
        topic_partitions=cfg.partitions,
        topic_replication_factor=cfg.replication_factor,
        table_standby_replicas=0,
        TableManager=_table_manager(),
        broker_session_timeout=cfg.session_timeout_s,
        broker_heartbeat_interval=min(3.0, cfg.session_timeout_s / 3),
        # Tansu holds a JoinGroup for part of the rebalance timeout: keep it short.
        broker_rebalance_timeout=cfg.rebalance_timeout_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # No linger: a stage runner waits for each record's acknowledgement before the
        # next (`streams.stage`), so a linger is pure delay, per record: 5 ms capped a
        # stage catching up on a backlog (a restart after an outage, a replay) at about
        # 200 published records a second. What is sent while a request is in flight still
        # goes out as one batch. (The batch loops have producers of their own.)
        producer_linger=0.0,
        web_enabled=True,
        web_host=cfg.web_host,
        web_port=cfg.web_port,
        web_in_thread=False,
        web_transport=f"tcp://{cfg.web_host}:{cfg.web_port}",
        # Bodies as sent (the gateway decodes them once, with its limits); header timeout.
        web_application_options=server_options(cfg.gateway),
    )
    # Connections per client address, JSON for requests that are not valid HTTP.
    harden(app.web, cfg.gateway)
    # Which kinds of personal data are masked, for everything this process redacts.
    configure_redaction(cfg.redact)
    stages = tuple(cfg.stages) if stages is None else stages
    topology = Topology(app, cfg.partitions, cfg.topic_prefix)
    app.logwarden_topology = topology  # type: ignore[attr-defined]
    app.logwarden_config = cfg  # type: ignore[attr-defined]
    if "ticks" in stages:
        _register_ticks(app, topology, cfg, clock)
    if "web" in stages:
        _register_web(app, topology, cfg)
    registry = _stages() if set(stages) - {"ticks", "web"} else {}
    reports_dir = Path(cfg.incidents.reports_dir)
    if not reports_dir.is_absolute():
        reports_dir = Path(cfg.data_dir) / reports_dir
    for name in stages:
        if name in registry:
            runner = StageRunner(app, topology, name, cfg.partitions, reports_dir)
            registry[name](runner, cfg, **(stage_options or {}).get(name, {}))
            for spec in runner.batches:
                _register_batch(app, _in_namespace(spec, topology), cfg)
    if "gateway" in stages:  # people's decisions come in where the other HTTP input does
        _register_approvals(StageRunner(app, topology, "approvals", cfg.partitions, reports_dir), cfg)
    return app


def _register_approvals(runner: StageRunner, cfg: Config) -> None:
    """The ways to decide (ops/APPROVALS.md). After the stages: the incident stage's table,
    when this worker runs it, answers whether an approval is still pending."""
    from agents.approvals.web import register
    from agents.incidents.clock import STATES_TABLE
    from agents.incidents.layout import read_state
    from agents.incidents.web import service_of_incident

    register(runner, cfg, states_table=STATES_TABLE, service_of_incident=service_of_incident, read_state=read_state)


class _NamespacedExtractor:
    """A batch extractor whose flushed records go to the physical topics of the namespace."""

    def __init__(self, inner: Extractor, topology: Topology):
        self.inner, self.topology = inner, topology
        self.resume_at = inner.resume_at

    @property
    def urgent(self) -> bool:
        return bool(getattr(self.inner, "urgent", False))

    def feed_records(self, records):  # noqa: ANN001, ANN201 - the Extractor protocol
        self.inner.feed_records(records)

    def flush(self, caught_up: bool):  # noqa: ANN201
        records, last = self.inner.flush(caught_up)
        return [(self.topology.physical(topic), *rest) for topic, *rest in records], last


def _in_namespace(spec: BatchSpec, topology: Topology) -> BatchSpec:
    """The stage's batch loop on the physical topics (`topic_prefix`); the same spec without one."""
    if not topology.prefix:
        return spec
    return replace(spec, source=topology.physical(spec.source),
                   checkpoint_topic=topology.physical(spec.checkpoint_topic),
                   make=lambda partition, checkpoint: _NamespacedExtractor(spec.make(partition, checkpoint), topology))


def _register_batch(app: faust.App, spec: BatchSpec, cfg: Config) -> None:
    # An `@app.service` starts only after Faust's group join and table recovery, so on
    # Tansu the batch loop's own join comes after Faust's (about 5 s more to a start,
    # measured on replays). Started beside Faust's consumer instead (as a dependency of
    # the app) it was tried twice and taken out twice: on a loaded machine (two busy
    # cores beside `logwarden up --demo`) Faust's producer had not started 170 s later,
    # nothing was delivered, and Ctrl-C crashed with "Producer service not yet started";
    # the same load with this form: first alert after 18 s.
    @app.service
    class _Batch(BatchService):
        def __init__(self, **kwargs):  # noqa: ANN003 - mode's signature
            super().__init__(spec, cfg, **kwargs)


def _register_ticks(app: faust.App, topology: Topology, cfg: Config, clock: Callable[[], float]) -> None:
    """Put the clock into the log: a Tick on every partition of `logs.raw` and a Clock on
    every partition of `incidents.clock`.

    Every worker ticks (not only the leader): ticks are idempotent (the watermark is
    a max), and no single worker's rebalance can stop time.
    """

    @app.timer(cfg.tick_interval_s, name="logwarden.ticks")
    async def tick() -> None:
        now = clock()
        value = encode_tick(now)
        # The same time for the incident reducer, so AI timeouts and updates fire when due.
        clock_value = encode(Clock(at=now))
        for partition in range(cfg.partitions):
            # The record timestamp is the tick's time too: broker time must agree with it.
            await topology.publish("logs.raw", b"__tick__", value, partition=partition, wait=False, timestamp=now)
            await topology.publish("incidents.clock", b"__tick__", clock_value, partition=partition, wait=False,
                                   timestamp=now)


def _register_web(app: faust.App, topology: Topology, cfg: Config) -> None:
    started = time.time()

    @app.page("/healthz")
    async def healthz(self, request):  # noqa: ANN001 - Faust view signature
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment()) if app.consumer else []
        return self.json({
            "status": "ok",
            "app": cfg.app_id,
            "uptime_s": round(time.time() - started, 1),
            "assigned_partitions": len(assigned),
        })

    @app.page("/metrics")
    async def metrics(self, request):  # noqa: ANN001
        return self.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
