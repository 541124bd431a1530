"""The stage runner: the one loop every stage's records go through.

A stage's `agents/<stage>/agent.py` declares what it reads, the tables it keeps and
its handlers, against a `StageRunner` it is handed (stages never import `streams`).
For every record the runner decodes it as the declared type, sets the trace context,
calls the handler, carries out the effects it returns in order (publish and wait for
the acknowledgement, store table state, write reports), and sends what cannot be
decoded or handled to `dead.letter` with the reason, then goes on: an exception never
leaves the loop (Faust would ack the event and restart the agent, losing it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Mapping

import faust
from prometheus_client import Counter, Gauge
from pydantic import BaseModel

from agents.tracing import trace_context
from schemas.effects import Publish, Store, WriteReport
from streams.kafka.batch import BatchSpec
from streams.topology import Topology

__all__ = ["Source", "StageRunner", "json_table"]

log = logging.getLogger(__name__)

RECORDS = Counter("logwarden_stage_records", "Records taken by a stage's handler, by outcome",
                  ["stage", "outcome"])
# Per input partition, the offset after the last record a handler began with, and the
# records being handled now. Records are taken from a partition in offset order (also by
# the several actors of a concurrent stage), so with nothing in hand every record before
# that offset has been handled: a replay knows it is done by these (`streams.replay.run`),
# which a redelivered record (after a rebalance) cannot inflate, as it does a count.
NEXT_OFFSET = Gauge("logwarden_stage_next_offset", "Offset after the last record a stage took, by input partition",
                    ["stage", "topic", "partition"])
IN_HAND = Gauge("logwarden_stage_records_in_hand", "Records a stage's handler is working on now")
_in_hand = 0  # the same, for this process's own reading (`in_hand()`)


def in_hand() -> int:
    """Records the stages of this process are handling now (taken, not yet done)."""
    return _in_hand

Handler = Callable[[Any, "Source"], Awaitable[Iterable[Any]]]


class Source:
    """Where the record being handled came from (for handlers that need it)."""

    __slots__ = ("key", "offset", "partition", "topic")

    def __init__(self, topic: str, partition: int, offset: int, key: bytes | None):
        self.topic, self.partition, self.offset, self.key = topic, partition, offset, key

    @property
    def key_text(self) -> str:
        return (self.key or b"").decode(errors="replace")


def json_table(app: faust.App, name: str, partitions: int) -> faust.Table:
    """A changelogged table of JSON values (plain dicts), string keys."""
    return app.Table(name, partitions=partitions, schema=faust.Schema(
        key_type=str, value_type=None, key_serializer="json", value_serializer="json"))


class StageRunner:
    """What a stage declares itself against: inputs, tables, handlers, batch loops, pages."""

    def __init__(self, app: faust.App, topology: Topology, name: str, partitions: int, reports_dir: Path):
        self.app = app
        self.topology = topology
        self.name = name
        self.partitions = partitions
        self.reports_dir = reports_dir
        self.tables: dict[str, faust.Table] = {}
        self.batches: list[Any] = []
        self._taken: dict[tuple[str, int], int] = {}  # (physical topic, partition) -> NEXT_OFFSET
        # The metrics' children, looked up once, not twice a record (a label lookup is a
        # few microseconds; the incident stage handles a window in about 130).
        self._next_offset: dict[tuple[str, int], Any] = {}
        self._handled = RECORDS.labels(name, "handled")

    # --- declarations ------------------------------------------------------------------

    def table(self, name: str, partitions: int | None = None) -> faust.Table:
        if name not in self.tables:
            self.tables[name] = json_table(self.app, name, partitions or self.partitions)
        return self.tables[name]

    def consume(self, inputs: Mapping[str, type[BaseModel]], handle: Handler, *, concurrency: int = 1,
                agent: str | None = None, invalid_reason: str = "invalid_record") -> None:
        """Run `handle(record, source)` for every record of `inputs` (topic -> record type)."""
        # Physical names (a replay's namespace has a prefix); handlers see logical ones.
        topic = self.app.topic(*(self.topology.physical(name) for name in inputs), key_type=bytes,
                               value_type=bytes, key_serializer="raw", value_serializer="raw")

        async def loop(stream) -> None:  # noqa: ANN001 - Faust stream
            async for event in stream.events():
                await self._one(event, inputs, handle, invalid_reason)

        loop.__name__ = agent or self.name
        self.app.agent(topic, concurrency=concurrency, name=f"logwarden.{agent or self.name}")(loop)

    def batch(self, **spec: Any) -> None:
        """A batch loop over a high-volume topic (`streams.kafka.batch.BatchSpec`), wired by the app."""
        self.batches.append(BatchSpec(**spec))

    def every(self, interval_s: float, produce: Callable[[], Awaitable[Iterable[Any]]], *,
              name: str | None = None) -> None:
        """Call `produce()` every `interval_s` on every worker and carry out the effects it returns."""

        async def timer() -> None:
            try:
                await self.carry_out(await produce())
            except Exception:  # noqa: BLE001 - a failed round is logged; the next one runs
                log.exception("%s timer failed", self.name)
                RECORDS.labels(self.name, "failed").inc()

        timer.__name__ = name or self.name
        self.app.timer(interval_s, name=f"logwarden.{name or self.name}.timer")(timer)

    def page(self, path: str):  # noqa: ANN201 - Faust's decorator
        return self.app.page(path)

    def on_stop(self, close: Callable[[], Awaitable[None]]) -> None:
        @self.app.on_before_shutdown.connect
        async def _close(app, **kwargs) -> None:  # noqa: ANN001
            await close()

    # --- running -----------------------------------------------------------------------

    async def _one(self, event: Any, inputs: Mapping[str, type[BaseModel]], handle: Handler, reason: str) -> None:
        msg = event.message
        where = (msg.topic, msg.partition)
        if msg.offset >= self._taken.get(where, -1):
            self._taken[where] = msg.offset + 1
            gauge = self._next_offset.get(where)
            if gauge is None:
                gauge = self._next_offset[where] = NEXT_OFFSET.labels(self.name, msg.topic, str(msg.partition))
            gauge.set(msg.offset + 1)
        global _in_hand
        IN_HAND.inc()
        _in_hand += 1
        try:
            await self._handle(event, inputs, handle, reason)
        finally:
            _in_hand -= 1
            IN_HAND.dec()

    async def _handle(self, event: Any, inputs: Mapping[str, type[BaseModel]], handle: Handler,
                      reason: str) -> None:
        msg = event.message
        topic = self.topology.logical(msg.topic)
        try:
            record = inputs[topic].model_validate_json(event.value)
        except ValueError as exc:
            RECORDS.labels(self.name, "invalid").inc()
            await self.topology.reject(event, self.name, reason, exc)
            return
        trace_id = getattr(record, "trace_id", "") or ""
        with trace_context(trace_id):
            try:
                effects = await handle(record, Source(topic, msg.partition, msg.offset, event.key))
                await self.carry_out(effects, trace_id)
            except Exception as exc:  # noqa: BLE001 - one bad record must not stop the stage
                log.exception("%s handler failed on %s", self.name, topic)
                RECORDS.labels(self.name, "failed").inc()
                key = getattr(record, "service", None)
                await self.topology.reject(event, self.name, "handler_error", exc, key=key, trace_id=trace_id)
                return
        self._handled.inc()

    async def carry_out(self, effects: Iterable[Any], trace_id: str = "") -> None:
        for effect in effects:
            if isinstance(effect, Publish):
                record = effect.record
                if trace_id and not getattr(record, "trace_id", "x"):
                    record = record.model_copy(update={"trace_id": trace_id})
                if effect.topic == "dead.letter":
                    log.warning("dead letter from %s: %s", record.source_topic, record.reason)
                await self.topology.publish(effect.topic, effect.key, record)
            elif isinstance(effect, Store) and effect.value is None:  # a tombstone on the changelog
                self.tables[effect.table].pop(effect.key, None)
            elif isinstance(effect, Store):
                self.tables[effect.table][effect.key] = effect.value
            elif isinstance(effect, WriteReport):
                self.reports_dir.mkdir(parents=True, exist_ok=True)
                (self.reports_dir / effect.filename).write_text(effect.content)
                log.info("report written: %s", effect.filename)
            else:
                raise TypeError(f"unknown effect {effect.__class__.__name__}")

