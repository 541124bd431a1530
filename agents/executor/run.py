"""One order, start to report: plan, journal, run (or write what would run), report.

For each `FixOrder`, in this order:

1. the journal of its approval id decides first (`journal.py`): finished -> the same
   report again; started without finished -> reported `interrupted`, not run again;
2. the order is planned again (`plan.py`); a refusal is journaled and reported
   `refused` (a later delivery, even with another catalog, reports the same);
3. `Approval(action="started")` is announced and acknowledged, then "started" is
   written to the journal and flushed to disk, and only then does anything run;
4. a dry run writes `dry-run.txt` (the argv it would run) and reports ok; a real run
   runs the argv (`process.py`);
5. "finished" with the outcome is written to the journal, and the `executed` report is
   returned for the caller to publish.

Reports are in the order's time frame: `at` is the order's `at` plus how long the run
took, so the reducer's event-time clock (verification window) never jumps, whether
the pipeline runs in real time or replays history.

Never raises for what the order or the program does; I/O errors on the working
directory do raise (the order then goes to the dead-letter topic with the reason).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Awaitable, Callable

from agents.executor.journal import Journal, run_dir
from agents.executor.plan import Plan, Refused, plan_order
from agents.executor.process import Outcome, clip_output, run_argv
from agents.redact import redact
from agents.runbooks.catalog import Catalog
from schemas.records import Approval, FixOrder

__all__ = ["ACTOR", "DRY_RUN_FILE", "Executor"]

ACTOR = "executor"
DRY_RUN_FILE = "dry-run.txt"

Announce = Callable[[Approval], Awaitable[None]]


class Executor:
    """Runs orders at most once per approval id under `root` (`data_dir/executor.work_dir`)."""

    def __init__(self, catalog: Catalog, root: Path, *, allow_real: bool, max_output_bytes: int,
                 clock: Callable[[], float] = time.time):
        self.catalog = catalog
        self.root = Path(root)
        self.allow_real = allow_real
        self.max_output_bytes = max_output_bytes
        self.clock = clock

    async def handle(self, order: FixOrder, announce: Announce) -> Approval:
        """The `executed` report of `order`; `announce` publishes `started` before anything runs."""
        journal = Journal(run_dir(self.root, order.approval_id))
        state = journal.read()
        if state.finished is not None:
            return self._report(order, **_outcome_fields(state.finished))
        if state.interrupted:
            fields = {"status": "interrupted", "exit_status": None,
                      "dry_run": bool(state.started.get("dry_run", True)),
                      "output": "the worker stopped while this ran; not run again (a person decides)"}
            journal.write("finished", **fields, at=self.clock())
            return self._report(order, **fields)
        try:
            plan = plan_order(order, self.catalog, allow_real=self.allow_real)
        except Refused as exc:
            fields = {"status": "refused", "exit_status": None, "dry_run": order.dry_run,
                      "output": clip_output(f"refused: {exc}".encode(), self.max_output_bytes)}
            journal.write("finished", **fields, at=self.clock())
            return self._report(order, **fields)

        await announce(self._record(order, "started", dry_run=plan.dry_run))
        # Durable before anything runs (journal.py says why); the argv as audit, redacted.
        journal.write("started", approval_id=order.approval_id, runbook=plan.spec.name,
                      argv=[redact(a) for a in plan.argv], dry_run=plan.dry_run, at=self.clock())
        outcome = self._dry_run(plan, journal.directory) if plan.dry_run else await run_argv(
            plan.argv, journal.directory, plan.spec.timeout_s, self.max_output_bytes)
        fields = {"status": outcome.status, "exit_status": outcome.exit_status, "dry_run": plan.dry_run,
                  "output": outcome.output, "duration_s": round(outcome.duration_s, 3)}
        journal.write("finished", **fields, at=self.clock())
        (journal.directory / "output.txt").write_text(outcome.output, encoding="utf-8")
        return self._report(order, **fields)

    def _dry_run(self, plan: Plan, directory: Path) -> Outcome:
        line = shlex.join(plan.argv)
        text = (f"# dry run of {plan.spec.name}: nothing was run. It would run, without a shell,\n"
                f"# in this directory, for at most {plan.spec.timeout_s:g} s:\n{line}\n")
        (directory / DRY_RUN_FILE).write_text(text, encoding="utf-8")
        return Outcome("ok", None, clip_output(f"dry run: {line}".encode(), self.max_output_bytes), 0.0)

    def _record(self, order: FixOrder, action: str, *, dry_run: bool, duration_s: float = 0.0,
                **fields) -> Approval:  # noqa: ANN003
        at = (order.at + duration_s) if order.at else self.clock()
        return Approval(approval_id=order.approval_id, incident_id=order.incident_id, service=order.service,
                        action=action, runbook=order.runbook, params=dict(order.params), actor=ACTOR,
                        via=ACTOR, decision_id=f"{order.approval_id}:{action}", dry_run=dry_run, at=at,
                        trace_id=order.trace_id, **fields)

    def _report(self, order: FixOrder, *, status: str, exit_status: int | None, dry_run: bool, output: str,
                duration_s: float = 0.0) -> Approval:
        return self._record(order, "executed", dry_run=dry_run, duration_s=duration_s, status=status,
                            exit_status=exit_status, output=output)


def _outcome_fields(entry: dict) -> dict:
    exit_status = entry.get("exit_status")
    return {"status": str(entry.get("status", "failed")),
            "exit_status": exit_status if isinstance(exit_status, int) else None,
            "dry_run": bool(entry.get("dry_run", True)), "output": str(entry.get("output", "")),
            "duration_s": float(entry.get("duration_s", 0.0) or 0.0)}
