"""Thin shell of the executor stage: `fixes.orders` in, `approvals` (started, executed) out.

Opt-in (`stages = [..., "executor"]`): give it its own, more trusted workers, since it
runs programs. The runbook catalog is read once, here, from `ai.runbooks_index` (the
one the reducer proposes from). Orders are handled one at a time (`concurrency=1`):
the offset of an order is committed only after its report was acknowledged, and the
journal (`journal.py`) makes a redelivered order report instead of running again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client import Counter

from agents.executor.run import Executor
from agents.runbooks.catalog import load_catalog
from schemas.effects import Publish
from schemas.records import Approval, FixOrder

__all__ = ["register"]

log = logging.getLogger(__name__)

RUNS = Counter("logwarden_executor_runs", "Orders the executor reported, by status and dry run",
               ["status", "dry_run"])


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    root = Path(cfg.executor.work_dir)
    if not root.is_absolute():
        root = Path(cfg.data_dir) / root
    catalog = load_catalog(cfg.ai.runbooks_index)
    for name, why in sorted(catalog.rejected.items()):
        log.warning("runbook %s left out of the executor's catalog: %s", name, why)
    executor = Executor(catalog, root, allow_real=cfg.executor.allow_real,
                        max_output_bytes=cfg.executor.max_output_bytes)

    async def announce(record: Approval) -> None:
        # Acknowledged by the broker before anything runs: fix_started precedes the run.
        await stage.carry_out([Publish("approvals", record.service, record)])

    async def handle(order: FixOrder, source) -> list[Publish]:  # noqa: ANN001
        report = await executor.handle(order, announce)
        RUNS.labels(report.status, str(report.dry_run).lower()).inc()
        return [Publish("approvals", report.service, report)]

    stage.consume({"fixes.orders": FixOrder}, handle, agent="executor", invalid_reason="invalid_fix_order")
