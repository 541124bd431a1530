"""The executor with real programs: runs once per approval id, bounded, redacted, or not at all.

Every run here is a real process (the test runbooks of tests/data/runbooks), in the
approval's own working directory under a temporary root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from agents.executor.journal import Journal, run_dir
from agents.executor.process import run_argv
from agents.executor.run import DRY_RUN_FILE
from tests.unit.executor.conftest import order


def _dir(executor, o) -> Path:  # noqa: ANN001
    return run_dir(executor.root, o.approval_id)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_an_approved_order_runs_once_after_it_was_announced(make_executor, announced):
    executor, o = make_executor(), order()
    marker = _dir(executor, o) / "marker"

    async def announce(record):  # noqa: ANN001
        assert not marker.exists(), "started must be acknowledged before the program runs"
        await announced(record)

    report = await executor.handle(o, announce)

    assert marker.read_text() == "restarted payments\n"
    assert [(r.action, r.dry_run, r.actor, r.via) for r in announced.records] == [
        ("started", False, "executor", "executor")]
    assert (report.action, report.status, report.exit_status, report.dry_run) == ("executed", "ok", 0, False)
    assert (report.approval_id, report.incident_id, report.service, report.runbook) == (
        o.approval_id, o.incident_id, "payments", "restart-service")
    assert report.actor == report.via == "executor"
    assert report.decision_id == f"{o.approval_id}:executed"
    assert o.at <= report.at < o.at + 30  # in the order's time frame, plus how long it ran


async def test_a_redelivered_order_reports_the_same_outcome_and_runs_nothing(make_executor, announced):
    executor, o = make_executor(), order()
    first = await executor.handle(o, announced)
    second = await make_executor().handle(o, announced)  # a restarted worker: a new executor, same disk

    assert (_dir(executor, o) / "marker").read_text().splitlines() == ["restarted payments"]
    assert len(announced.records) == 1
    assert second.model_dump() == first.model_dump()


async def test_a_dry_run_writes_the_argv_and_runs_nothing(make_executor, announced):
    executor, o = make_executor(allow_real=False), order()
    report = await executor.handle(o, announced)

    directory = _dir(executor, o)
    assert not (directory / "marker").exists()
    written = (directory / DRY_RUN_FILE).read_text()
    assert "python3 -c" in written and written.rstrip().endswith(" payments")
    assert (report.status, report.dry_run, report.exit_status) == ("ok", True, None)
    assert report.output.startswith("dry run: python3 -c")
    assert [(r.action, r.dry_run) for r in announced.records] == [("started", True)]


async def test_a_run_past_its_timeout_is_killed_with_everything_it_started(make_executor, announced):
    executor, o = make_executor(), order("hang", params={})
    report = await executor.handle(o, announced)

    assert report.status == "timeout" and report.exit_status == -9
    assert "begun" in report.output
    parent, child = (int(p) for p in (_dir(executor, o) / "pids").read_text().split())
    assert not _alive(parent) and not _alive(child)


async def test_output_is_redacted_and_cut_and_the_exit_status_kept(make_executor, announced):
    executor, o = make_executor(max_output_bytes=512), order("chatty-fail", params={})
    report = await executor.handle(o, announced)

    assert (report.status, report.exit_status) == ("failed", 3)
    assert "hunter2" not in report.output and "ghp_abcdef" not in report.output
    assert "password=[REDACTED]" in report.output and "[REDACTED_GITHUB_TOKEN]" in report.output
    assert len(report.output.encode()) <= 512 and report.output.endswith("[... output cut]")
    assert (_dir(executor, o) / "output.txt").read_text() == report.output
    journal = (_dir(executor, o) / "journal.jsonl").read_text()
    assert "hunter2" not in journal


@pytest.mark.parametrize("kwargs", [
    {"runbook": "rm-everything"},
    {"params": {"service": "payments", "force": "yes"}},
    {"params": {"service": "a; rm -rf /"}, "service": "a; rm -rf /"},
    {"params": {"service": "billing"}},
])
async def test_a_refused_order_runs_nothing_and_says_so_every_time(make_executor, announced, kwargs):
    executor, o = make_executor(), order(**kwargs)
    report = await executor.handle(o, announced)
    again = await executor.handle(o, announced)

    assert (report.status, report.exit_status) == ("refused", None)
    assert report.output.startswith("refused: ") and "rm -rf" not in report.output
    assert again.model_dump() == report.model_dump()
    assert announced.records == []
    assert not (_dir(executor, o) / "marker").exists()


async def test_started_without_finished_is_interrupted_and_not_run_again(make_executor, announced):
    executor, o = make_executor(), order()
    # What a worker killed between "started" and the end of the run leaves behind.
    Journal(_dir(executor, o)).write("started", argv=["python3"], dry_run=False)

    report = await executor.handle(o, announced)
    again = await executor.handle(o, announced)

    assert (report.status, report.exit_status, report.dry_run) == ("interrupted", None, False)
    assert again.model_dump() == report.model_dump()
    assert announced.records == []
    assert not (_dir(executor, o) / "marker").exists()


async def test_a_program_that_cannot_start_fails_the_run(make_executor, announced):
    report = await make_executor().handle(order("missing-program", params={}), announced)
    assert (report.status, report.exit_status) == ("failed", None)
    assert "cannot start logwarden-test-no-such-program" in report.output


async def test_the_program_never_sees_the_worker_secrets(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "LOGWARDEN_APPROVALS__LINK_SECRET": "s3cr3t", "KEEP": "kept"}
    code = "import os; print(sorted(k for k in os.environ if k in ('KEEP', 'LOGWARDEN_APPROVALS__LINK_SECRET')))"
    outcome = await run_argv([sys.executable, "-c", code], tmp_path, 30, 1024, env=env)
    assert (outcome.status, outcome.output.strip()) == ("ok", "['KEEP']")
