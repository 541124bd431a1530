"""A worker creates its tables' changelog topics before it joins its group.

Seen on Kafka (the replay's determinism test): a worker that joined before Faust had
created `<app>-notify-ledger-changelog` ran for about half a second with the assignor
"ignoring missing topic", and its notify stage sent records to the dead-letter topic
(`PartitionsMismatch`): three tickets never reported. `run_worker` now creates every
changelog first, with the partitions Faust will expect and compaction.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from streams.app import create_app
from streams.config import load_config
from streams.kafka import client
from streams.worker import _create_changelogs, changelogs_of

pytestmark = pytest.mark.broker


async def _described(bootstrap: str, names: list[str], expected: dict[str, int]) -> dict[str, int]:
    """Partition counts as the broker describes them, once its metadata shows them (Kafka
    answers a topic created a moment ago with no partitions yet)."""
    admin = await client.started(client.admin(bootstrap, 10.0), bootstrap, 10.0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15.0
    try:
        while True:
            seen = {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(names)}
            if seen == expected or loop.time() > deadline:
                return seen
            await asyncio.sleep(0.2)
    finally:
        await client.quiet_stop(admin)


def test_every_table_changelog_exists_before_the_worker_starts(broker, tmp_path):
    app_id = f"changelogs-{uuid.uuid4().hex[:8]}"
    cfg = load_config(None, environ={}).model_copy(update={
        "broker": broker.bootstrap, "app_id": app_id, "data_dir": tmp_path, "partitions": 4})
    app = create_app(cfg)
    wanted = changelogs_of(app)
    # The four tables of the default stages, named as Faust names them: <app_id>-<table>-changelog.
    assert wanted == [(f"{app_id}-console-windows-changelog", 4), (f"{app_id}-digest-book-changelog", 1),
                      (f"{app_id}-incident-states-changelog", 4), (f"{app_id}-notify-ledger-changelog", 4)]
    assert _create_changelogs(app, cfg) == {name: "created" for name, _ in wanted}
    assert asyncio.run(_described(broker.bootstrap, [n for n, _ in wanted], dict(wanted))) == dict(wanted)
    assert _create_changelogs(app, cfg) == {name: "exists" for name, _ in wanted}  # idempotent


def test_table_recovery_reads_a_changelog_to_its_last_record_when_it_ends_in_a_batch(broker, tmp_path):
    """Faust's recovery reads each changelog partition up to the end it asks the broker
    for (`highwaters`). Tansu lists the base offset of a partition's last record batch + 1
    as its end: with the last state writes sent together in one batch, recovery stopped
    short of them (a restarted worker lost them), or raised ConsistencyError and stopped
    the worker when it took back a partition it had read further before (seen in the
    two-worker test). The worker confirms the ends by a fetch (`streams.app`)."""
    from aiokafka import TopicPartition
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
    from faust.types import TP
    from yarl import URL

    bootstrap = broker.bootstrap
    cfg = load_config(environ={"LOGWARDEN_BROKER": bootstrap, "LOGWARDEN_DATA_DIR": str(tmp_path),
                               "LOGWARDEN_APP_ID": f"cl-{uuid.uuid4().hex[:6]}"})
    create_app(cfg)  # installs the worker's way of asking for the ends
    topic = f"{cfg.app_id}-incident-states-changelog"

    async def scenario() -> tuple[int, dict]:
        admin = await client.started(client.admin(bootstrap, 10.0), bootstrap, 10.0)
        try:
            from aiokafka.admin import NewTopic
            await admin.create_topics([NewTopic(topic, 1, 1)])
        finally:
            await client.quiet_stop(admin)
        producer = await client.started(client.producer(bootstrap, linger_ms=100), bootstrap)
        try:
            for batch in range(3):  # three batches of three state writes
                sent = [await producer.send(topic, b'{"v": %d}' % i, key=b"svc", partition=0) for i in range(3)]
                await asyncio.gather(*sent)
        finally:
            await client.quiet_stop(producer)
        tp = TopicPartition(topic, 0)
        faust_reader = await client.started(client.consumer(bootstrap), bootstrap)
        try:
            faust_reader.assign([tp])
            listed = (await faust_reader.end_offsets([tp]))[tp]
            thread = type("Thread", (), {})()
            thread.consumer = type("C", (), {"in_transaction": False})()
            thread.app = type("A", (), {"conf": type("Conf", (), {"broker": [URL(f"kafka://{bootstrap}")]})()})()
            thread._ensure_consumer = lambda: faust_reader
            # Faust asks with its own partition type (a tuple, not aiokafka's class).
            faust_tp = TP(topic, 0)
            ends = await AIOKafkaConsumerThread._highwaters(thread, [faust_tp])
        finally:
            await client.quiet_stop(faust_reader)
        return listed, ends[faust_tp]

    listed, end = asyncio.run(scenario())
    assert end == 9  # nine records at offsets 0..8: the next one gets offset 9
    # What the broker lists alone (Tansu: 7, the last batch's base offset 6 + 1; Kafka: 9).
    assert listed in (7, 9)
