"""Reads this machine through psutil and hands the numbers to the pure checkers.

One `HostReader` per runner: it remembers what a check needs from the previous round
(network counters, process start times) so rates and restarts are measured between
rounds; on the first round it samples twice, `sample_s` apart. Every reading is a task
the runner times out on its own, so one hung mount does not hold up the others.
Never publishes anything.
"""

from __future__ import annotations

import os
import socket
import time
from collections import namedtuple
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import psutil

from agents.checks import checkers
from agents.checks.checkers import Outcome
from agents.checks.config import ChecksConfig

__all__ = ["HostReader", "ProcInfo", "Task"]

ProcInfo = namedtuple("ProcInfo", "pid rss create_time")


@dataclass(frozen=True)
class Task:
    """One reading: `run()` returns outcomes; past `timeout_s` the runner reports `name` unknown."""

    name: str
    timeout_s: float
    run: Callable[[], list[Outcome]]


class HostReader:
    def __init__(self, cfg: ChecksConfig, ps: Any = psutil, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic):
        self.cfg, self.ps, self.sleep, self.monotonic = cfg, ps, sleep, monotonic
        self.starts: dict[str, float | None] = {}
        self.net_before: tuple[float, dict[str, Any]] | None = None

    def tasks(self) -> list[Task]:
        c = self.cfg
        tasks: list[Task] = []
        if c.cpu.enabled:
            tasks.append(Task("cpu", c.cpu.timeout_s, self._cpu))
        if c.memory.enabled:
            tasks.append(Task("memory", c.memory.timeout_s, self._memory))
        if c.disk.enabled:
            tasks += [Task(f"disk:{m}", c.disk.timeout_s, partial(self._disk, m)) for m in self._mounts()]
        if c.network.enabled:
            tasks.append(Task("net", c.network.timeout_s, self._network))
            tasks += [Task(f"tcp:{t}", c.network.timeout_s, partial(self._reach, t)) for t in c.network.targets]
        if c.process.enabled:
            tasks += [Task(f"process:{n}", c.process.timeout_s, partial(self._process, n, self._by_name(n)))
                      for n in c.process.names]
            tasks += [Task(f"process:{p}", c.process.timeout_s, partial(self._process, p, self._by_pid_file(p)))
                      for p in c.process.pid_files]
        return tasks

    # --- readings ----------------------------------------------------------------------

    def _cpu(self) -> list[Outcome]:
        percent = self.ps.cpu_percent(interval=self.cfg.cpu.sample_s)
        try:
            load1 = self.ps.getloadavg()[0]
        except (AttributeError, OSError):
            load1 = None
        return [checkers.cpu(percent, self.cfg.cpu, load1, self.ps.cpu_count())]

    def _memory(self) -> list[Outcome]:
        swap = self.ps.swap_memory() if self.cfg.memory.swap else None
        return [checkers.memory(self.ps.virtual_memory(), swap, self.cfg.memory)]

    def _mounts(self) -> list[str]:
        if self.cfg.disk.mounts:
            return list(self.cfg.disk.mounts)
        mounts = sorted({p.mountpoint for p in self.ps.disk_partitions(all=False)})
        return mounts or ["/"]

    def _disk(self, mount: str) -> list[Outcome]:
        usage = self.ps.disk_usage(mount)
        try:
            st = os.statvfs(mount)
            inodes = (st.f_files, st.f_ffree)
        except (AttributeError, OSError):
            inodes = None
        return [checkers.disk(mount, usage, inodes, self.cfg.disk)]

    def _network(self) -> list[Outcome]:
        if self.net_before is None:
            self.net_before = (self.monotonic(), self.ps.net_io_counters(pernic=True))
            self.sleep(self.cfg.network.sample_s)
        then, before = self.net_before
        now, after = self.monotonic(), self.ps.net_io_counters(pernic=True)
        self.net_before = (now, after)
        names = self.cfg.network.interfaces or sorted(n for n in after if n != "lo")
        out = []
        for name in names:
            if name not in after:
                out.append(Outcome(f"net:{name}", "fail", f"interface {name} is gone"))
            elif name in before:
                out.append(checkers.network(name, before[name], after[name], now - then, self.cfg.network))
        return out

    def _reach(self, target: str) -> list[Outcome]:
        host, _, port = target.rpartition(":")
        started = self.monotonic()
        try:
            with socket.create_connection((host, int(port)), timeout=self.cfg.network.timeout_s):
                elapsed = (self.monotonic() - started) * 1000.0
        except OSError as exc:
            return [checkers.reachability(target, None, exc.strerror or exc.__class__.__name__, self.cfg.network)]
        return [checkers.reachability(target, elapsed, "", self.cfg.network)]

    def _by_name(self, name: str) -> Callable[[], list[ProcInfo]]:
        def find() -> list[ProcInfo]:
            found = []
            for p in self.ps.process_iter(["name", "create_time", "memory_info"]):
                if p.info.get("name") == name and p.info.get("memory_info") is not None:
                    found.append(ProcInfo(p.pid, p.info["memory_info"].rss, p.info["create_time"]))
            return found
        return find

    def _by_pid_file(self, path: str) -> Callable[[], list[ProcInfo]]:
        def find() -> list[ProcInfo]:
            try:
                pid = int(open(path).read().strip())
                p = self.ps.Process(pid)
                return [ProcInfo(pid, p.memory_info().rss, p.create_time())]
            except (OSError, ValueError, self.ps.Error):
                return []
        return find

    def _process(self, label: str, find: Callable[[], list[ProcInfo]]) -> list[Outcome]:
        outcome, start = checkers.process(label, find(), self.starts.get(label), self.cfg.process)
        self.starts[label] = start
        return [outcome]
