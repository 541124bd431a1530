"""The runner: results as published (key, ids, thresholds, duration), timeouts, readings of a fake psutil."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from psutil._ntuples import sdiskusage, snetio, sswap, svmem

from agents.checks.checkers import Outcome
from agents.checks.config import ChecksConfig
from agents.checks.host import HostReader, Task
from agents.checks.runner import CheckRunner, run_task

GIB = 1024 ** 3


class FakePsutil:
    """What HostReader reads, with numbers the test sets."""

    Error = OSError

    def __init__(self):
        self.cpu, self.mem, self.swap_pct, self.disk_pct = 20.0, 40.0, 0.0, 50.0
        self.errin = 0
        self.procs = [SimpleNamespace(pid=7, info={"name": "worker", "create_time": 100.0,
                                                   "memory_info": SimpleNamespace(rss=64 * 1024 * 1024)})]

    def cpu_percent(self, interval):
        return self.cpu

    def getloadavg(self):
        return (1.0, 1.0, 1.0)

    def cpu_count(self):
        return 2

    def virtual_memory(self):
        return svmem(16 * GIB, int(16 * GIB * (100 - self.mem) / 100), self.mem, 0, 0, 0, 0, 0, 0, 0, 0)

    def swap_memory(self):
        return sswap(GIB, 0, GIB, self.swap_pct, 0, 0)

    def disk_partitions(self, all=False):
        return [SimpleNamespace(mountpoint="/"), SimpleNamespace(mountpoint="/data")]

    def disk_usage(self, mount):
        used = int(100 * GIB * self.disk_pct / 100)
        return sdiskusage(100 * GIB, used, 100 * GIB - used, self.disk_pct)

    def net_io_counters(self, pernic):
        return {"lo": snetio(0, 0, 0, 0, 0, 0, 0, 0), "eth0": snetio(0, 0, 0, 0, self.errin, 0, 0, 0)}

    def process_iter(self, attrs):
        return list(self.procs)


def _cfg(**over) -> ChecksConfig:
    base = {"service": "payments", "host": "web-1", "recover_after": 3,
            "disk": {"warning_threshold": 80, "critical_threshold": 90},
            "process": {"names": ["worker", "cron"]}}
    base.update(over)
    return ChecksConfig.model_validate(base)


def _runner(ps: FakePsutil, clock_values: list[float], cfg: ChecksConfig | None = None) -> CheckRunner:
    cfg = cfg or _cfg()
    ticks = iter(clock_values)
    reader = HostReader(cfg, ps, sleep=lambda s: None, monotonic=lambda: next(ticks))
    return CheckRunner(cfg, reader=reader)


def test_one_round_publishes_every_check_keyed_by_the_configured_service():
    ps = FakePsutil()
    ps.disk_pct = 85.0
    runner = _runner(ps, [0.0, 60.0])

    async def go():
        try:
            return await runner.due(1000.0, everything=True)
        finally:
            await runner.close()

    results = {r.check: r for r in asyncio.run(go())}
    assert sorted(results) == ["cpu", "disk:/", "disk:/data", "memory", "net:eth0", "process:cron", "process:worker"]
    assert {r.service for r in results.values()} == {"payments"}
    disk = results["disk:/"]
    assert (disk.status, disk.value, disk.threshold, disk.warning_threshold, disk.critical_threshold) == \
        ("warn", 85.0, 80, 80, 90)
    assert disk.host == "web-1" and disk.recover_after == 3 and disk.at == 1000.0
    assert disk.id == "payments|web-1|disk:/|1000.000" and len(disk.trace_id) == 32
    assert disk.duration_s >= 0 and disk.metrics["used_percent"] == 85.0
    assert results["process:cron"].status == "fail"
    assert results["process:worker"].metrics["rss_mib"] == 64.0


def test_rates_and_restarts_are_measured_between_rounds():
    ps = FakePsutil()
    # monotonic: first round reads twice (sample), second round once.
    runner = _runner(ps, [0.0, 1.0, 61.0], _cfg(network={"warning_threshold": 10, "critical_threshold": 100}))

    async def go():
        first = await runner.due(0.0)
        ps.errin = 30  # 30 errors in the 60 s between rounds: 30/min
        ps.procs[0].info["create_time"] = 150.0
        second = await runner.due(61.0)
        await runner.close()
        return first, second

    first, second = asyncio.run(go())
    net = {r.check: r for r in second}["net:eth0"]
    assert net.status == "warn" and net.metrics["errors_per_min"] == 30.0
    worker = {r.check: r for r in second}["process:worker"]
    assert worker.status == "warn" and worker.metrics["restarts"] == 1.0


def test_host_checks_and_probes_run_on_their_own_intervals():
    cfg = _cfg(interval_s=60, probes=[{"name": "depth", "command": ["true"], "interval_s": 15}],
               cpu={"enabled": False}, memory={"enabled": False}, disk={"enabled": False},
               network={"enabled": False}, process={"enabled": False})
    runner = CheckRunner(cfg, reader=HostReader(cfg, FakePsutil()))

    async def probe_only(spec, at):
        return [spec.name]

    runner._probe = probe_only  # the schedule, not the probe, is under test
    counts = []

    async def go():
        for now in (0, 10, 15, 29, 30, 60):
            counts.append(len(await runner.due(float(now))))
        await runner.close()

    asyncio.run(go())
    assert counts == [1, 0, 1, 0, 1, 1]
    assert runner.wait_s(60.0) == 15.0


def test_a_reading_past_its_timeout_is_unknown_and_does_not_hold_up_the_others():
    stuck = threading.Event()

    def hangs() -> list[Outcome]:
        stuck.wait(30)
        return [Outcome("disk:/nfs", "ok", "late")]

    async def go():
        try:
            return await asyncio.gather(run_task(Task("disk:/nfs", 0.05, hangs)),
                                        run_task(Task("cpu", 5, lambda: [Outcome("cpu", "ok", "fine")])))
        finally:
            stuck.set()

    (hung, took), (fine, _) = asyncio.run(go())
    assert [(o.check, o.status, o.message) for o in hung] == [("disk:/nfs", "unknown", "disk:/nfs timed out after 0.05s")]
    assert 0.05 <= took < 5
    assert fine[0].status == "ok"


def test_a_reading_that_raises_is_unknown_with_the_error_type():
    def broken():
        raise PermissionError("/root")

    (outcome,), _ = asyncio.run(run_task(Task("disk:/root", 5, broken)))
    assert (outcome.status, outcome.message) == ("unknown", "disk:/root could not run: PermissionError")
