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
