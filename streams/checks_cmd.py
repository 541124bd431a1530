"""`logwarden checks run [--once]`: host checks and probes on a host that runs no worker.

The same `CheckRunner` the `checks` stage uses; every result is published to
`checks.results` keyed by `checks.service` and acknowledged before the next round, and
printed as one line. `--once` runs every check and probe once and exits: 0 when all
are ok, 3 when any is warn or fail (usable from cron or a shell script), 1 when the
broker did not take them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import IO

from aiokafka.errors import KafkaError

from agents.checks.config import ChecksConfig
from agents.checks.runner import CheckRunner
from schemas.records import CheckResult, encode
from streams.errors import CliError
from streams.kafka import client

__all__ = ["run_checks"]

TOPIC = "checks.results"
EXIT_NOT_OK = 3


def _line(result: CheckResult) -> str:
    return f"{result.status:<7} {result.check:<24} {result.message}"


async def run_checks(bootstrap: str, cfg: ChecksConfig, *, once: bool, out: IO[str] = sys.stdout) -> int:
    runner = CheckRunner(cfg)
    producer = await client.started(client.producer(bootstrap), bootstrap)
    worst_ok = True
    try:
        while True:
            now = time.time()
            results = await runner.due(now, everything=once)
            try:
                await asyncio.gather(*[await producer.send(TOPIC, value=encode(r), key=r.service.encode())
                                       for r in results])
            except KafkaError as exc:
                raise CliError(f"publishing to {TOPIC} failed: {exc.__class__.__name__}") from None
            for result in results:
                print(_line(result), file=out, flush=True)
                worst_ok &= result.status in ("ok", "unknown")
            if once:
                print(f"published {len(results)} result(s) to {TOPIC} for service {runner.service}", file=out)
                return 0 if worst_ok else EXIT_NOT_OK
            await asyncio.sleep(max(0.2, runner.wait_s(time.time())))
    finally:
        await runner.close()
        await client.quiet_stop(producer)
