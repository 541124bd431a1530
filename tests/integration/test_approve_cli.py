"""`logwarden approve` on a real broker puts the decision on `approvals`, keyed by service."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from streams.kafka import create_topics, read_topic
from tests.conftest import run_cli

pytestmark = pytest.mark.broker


def test_approve_puts_the_expected_record_on_approvals(brokers, cli_env):
    bootstrap = brokers("tansu").bootstrap  # one kind is enough: this is the CLI's record, not the broker
    asyncio.run(create_topics(bootstrap, 4))
    service = f"cli-{uuid.uuid4().hex[:8]}"
    approval = f"{service}-20270115T0800Z-1:fix:2"
    env = {**cli_env, "LOGWARDEN_BROKER": bootstrap, "USER": "ana"}
    done = run_cli(["approve", approval, "--reason", "password=hunter2 looks fine"], env)
    assert done.returncode == 0, done.stderr.decode()
    assert b"recorded on approvals" in done.stdout

    async def read():
        return [(k, json.loads(v)) async for _p, _o, k, v in read_topic(bootstrap, "approvals", to_end=True)]

    [(key, record)] = [(k, r) for k, r in asyncio.run(read()) if r.get("approval_id") == approval]
    assert key == service.encode()
    assert {k: record[k] for k in ("incident_id", "service", "action", "actor", "via")} == {
        "incident_id": f"{service}-20270115T0800Z-1", "service": service, "action": "approve",
        "actor": "cli:ana", "via": "cli"}
    assert "hunter2" not in record["reason"] and record["decision_id"].startswith("cli:ana:")
