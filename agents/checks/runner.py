"""Runs the host checks and probes that are due, each under its own timeout, as `CheckResult`s.

Shared by the `checks` stage (a timer in a worker) and `logwarden checks run` (hosts
without a worker): both ask `due(now)` and publish what it returns, keyed by the
configured service. Readings run in a small thread pool so a check stuck in the kernel
(a hung network mount) is reported `unknown` after its timeout instead of stopping the
others; its thread is left behind, not waited for. Publishes nothing itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable

from agents.checks.checkers import Outcome
from agents.checks.config import ChecksConfig, ProbeSpec
from agents.checks.host import HostReader, Task
from agents.checks.probes import ProbeError, outcome_of, run_exec
from schemas.records import CheckResult, ProbeRequest

if TYPE_CHECKING:
    from agents.checks.probes_http import HttpProber

__all__ = ["CheckRunner", "result_of", "run_task"]


def result_of(outcome: Outcome, *, service: str, host: str, at: float, duration_s: float,
              recover_after: int, kind: str = "check") -> CheckResult:
    """The record of one outcome; its id (and trace id) are derived from host, check and time."""
    rid = f"{service}|{host}|{outcome.check}|{at:.3f}"
    return CheckResult(
        id=rid, trace_id=hashlib.blake2b(rid.encode(), digest_size=16).hexdigest(), check=outcome.check,
        service=service, host=host, status=outcome.status, kind=kind, value=outcome.value,
        threshold=outcome.threshold, warning_threshold=outcome.warning_threshold,
        critical_threshold=outcome.critical_threshold, metrics=outcome.metrics, units=outcome.units,
        duration_s=round(duration_s, 4), recover_after=recover_after, message=outcome.message, at=at)


async def run_task(task: Task, pool: ThreadPoolExecutor | None = None) -> tuple[list[Outcome], float]:
    """Run one reading in `pool`; past its timeout or on an error, one `unknown` outcome says why."""
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    try:
        outcomes = await asyncio.wait_for(loop.run_in_executor(pool, task.run), task.timeout_s)
    except (TimeoutError, asyncio.TimeoutError):
        outcomes = [Outcome(task.name, "unknown", f"{task.name} timed out after {task.timeout_s:g}s")]
    except Exception as exc:  # noqa: BLE001 - a broken reading is reported, never fatal
        outcomes = [Outcome(task.name, "unknown", f"{task.name} could not run: {exc.__class__.__name__}")]
    return outcomes, time.monotonic() - started


class CheckRunner:
    def __init__(self, cfg: ChecksConfig, *, reader: HostReader | None = None,
                 http: HttpProber | None = None, clock: Callable[[], float] = time.time):
        self.cfg, self.clock = cfg, clock
        self.host = cfg.host or socket.gethostname()
        self.service = cfg.service or self.host
        self.reader = reader or HostReader(cfg)
        self.http = http  # opened by the first HTTP probe: hosts without one never load an HTTP client
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="logwarden-check")
        self.next_due: dict[str, float] = {}

    async def due(self, now: float | None = None, *, everything: bool = False) -> list[CheckResult]:
        """Results of the host checks and probes due at `now` (all of them with `everything`)."""
        now = self.clock() if now is None else now
        results: list[CheckResult] = []
        jobs: list[Any] = []
        if everything or now >= self.next_due.get("host", 0.0):
            self.next_due["host"] = now + self.cfg.interval_s
            jobs += [self._host(task, now) for task in self.reader.tasks()]
        for spec in self.cfg.probes:
            if everything or now >= self.next_due.get(spec.name, 0.0):
                self.next_due[spec.name] = now + spec.interval_s
                jobs.append(self._probe(spec, now))
        for batch in await asyncio.gather(*jobs):
            results.extend(batch)
        return results

    async def asked(self, request: ProbeRequest, now: float | None = None) -> CheckResult:
        """One run of the configured probe named in `request`, now; `unknown` when no probe has that name.

        The result is the probe's own (its service, host, check and thresholds, so it
        grades and recovers like its scheduled runs), with the request's trace and an id
        of its own; the message says who asked."""
        now = self.clock() if now is None else now
        spec = next((p for p in self.cfg.probes if p.name == request.probe), None)
        who = f"asked by the model during {request.incident_id}" if request.incident_id else "asked by the model"
        if spec is None:
            outcome = Outcome(f"probe:{request.probe[:64]}", "unknown",
                              f"probe {request.probe[:64]!r} is not configured on {self.host}: not run ({who})")
            result = result_of(outcome, service=self.service, host=self.host, at=now, duration_s=0.0,
                               recover_after=self.cfg.recover_after, kind="probe")
        else:
            [result] = await self._probe(spec, now)
            result = result.model_copy(update={"message": f"{result.message} ({who})"})
        return result.model_copy(update={"id": f"asked|{request.id}", "trace_id": request.trace_id or result.trace_id})

    def wait_s(self, now: float) -> float:
        """Seconds until something is due."""
        return max(0.0, min(self.next_due.values(), default=now) - now)

    async def _host(self, task: Task, at: float) -> list[CheckResult]:
        outcomes, took = await run_task(task, self.pool)
        return [result_of(o, service=self.service, host=self.host, at=at, duration_s=took,
                          recover_after=self.cfg.recover_after) for o in outcomes]

    async def _probe(self, spec: ProbeSpec, at: float) -> list[CheckResult]:
        started = time.monotonic()
        try:
            # The exec runner kills on its own timeout; this bound covers HTTP as well.
            values = await asyncio.wait_for(self._values(spec), spec.timeout_s + 1.0)
            outcome = outcome_of(spec, values)
        except ProbeError as exc:
            outcome = Outcome(f"probe:{spec.name}", "unknown", f"probe {spec.name}: {exc}")
        except (TimeoutError, asyncio.TimeoutError):
            outcome = Outcome(f"probe:{spec.name}", "unknown", f"probe {spec.name}: timed out after {spec.timeout_s:g}s")
        return [result_of(outcome, service=self.service, host=self.host, at=at,
                          duration_s=time.monotonic() - started, recover_after=self.cfg.recover_after, kind="probe")]

    async def _values(self, spec: ProbeSpec) -> dict[str, float]:
        if spec.kind == "exec":
            return await run_exec(spec)
        if self.http is None:
            from agents.checks.probes_http import HttpProber

            self.http = HttpProber()
        return await self.http.values(spec)

    async def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.http is not None:
            await self.http.close()
