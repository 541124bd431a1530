"""End-to-end harness: real broker, real `logwarden worker` processes, topic readers.

Workers run as child processes exactly as in production (`python -m streams.cli
worker`), so SIGTERM and SIGKILL mean what they mean there.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from aiokafka import AIOKafkaProducer

from schemas.records import encode_tick
from streams.brokers import free_port
from streams.kafka import create_topics, read_topic

NO_TICKS = '["web", "extract", "incidents", "ai", "notify", "gateway"]'


def base_env(tmp: Path, bootstrap: str, app_id: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}
    env.update({
        "LOGWARDEN_BROKER": bootstrap, "LOGWARDEN_APP_ID": app_id, "LOGWARDEN_DATA_DIR": str(tmp / "lw"),
        "LOGWARDEN_LOG_LEVEL": "warning", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class WorkerProcess:
    """One `logwarden worker` child with its own web port and working directory."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.port = free_port()
        self.env = dict(env, LOGWARDEN_WEB_PORT=str(self.port))
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.log = cwd / f"worker-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 90) -> "WorkerProcess":
        self.cwd.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=self.env,
                                     cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.tail()}")
            try:
                if get_json(self.url + "/healthz").get("assigned_partitions", 0) > 0:
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"worker not ready in {ready_timeout}s:\n{self.tail()}")

    def tail(self, n: int = 120) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def get_json(url: str, timeout: float = 3.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def incident_detail(worker: "WorkerProcess", incident_id: str, timeout: float = 15.0) -> dict:
    """`GET /incidents/<id>` once the incident stage has stored what it published: the
    stage publishes an incident's events (acknowledged) before it writes its state, so a
    reader of `incidents.events` can ask a moment before the page knows the incident
    (a 404 seen once in a full run). The wait is for the page to answer, not a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get_json(f"{worker.url}/incidents/{incident_id}")
        except urllib.error.HTTPError as err:
            if err.code != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def post(url: str, body: bytes, content_type: str = "application/json",
         headers: dict[str, str] | None = None, timeout: float = 15.0) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def ensure_topics(bootstrap: str, partitions: int = 4, prefix: str = "") -> None:
    asyncio.run(create_topics(bootstrap, partitions, prefix=prefix))


def produce(bootstrap: str, records: list[tuple[str, str, float]], prefix: str = "") -> None:
    """(key, line, timestamp) records to logs.raw (under `prefix`), acknowledged, in order."""
    from aiokafka import AIOKafkaProducer

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futs = [await producer.send(prefix + "logs.raw", line.encode(), key=key.encode(),
                                        timestamp_ms=int(ts * 1000)) for key, line, ts in records]
            await asyncio.gather(*futs)
        finally:
            await producer.stop()

    asyncio.run(run())


def read_all(bootstrap: str, topic: str, idle: float = 1.0,
             to_end: bool = False) -> list[tuple[bytes | None, bytes | None]]:
    """The topic's records until it has been quiet `idle` seconds, or with `to_end` up to its end as of now.

    A topic written to more often than every `idle` seconds (a probe on a short interval)
    is never quiet: read it `to_end`, or the read never returns.
    """
    async def run():
        return [(k, v) async for _p, _o, k, v in read_topic(bootstrap, topic, idle_timeout=0 if to_end else idle,
                                                             to_end=to_end)]

    return asyncio.run(run())


def read_json(bootstrap: str, topic: str, idle: float = 1.0, to_end: bool = False) -> list[dict]:
    return [json.loads(v) for _k, v in read_all(bootstrap, topic, idle, to_end)]


def shipped_lines(bootstrap: str) -> list[tuple[int, bytes | None, dict]]:
    """(partition, key, decoded JSON) of every line a shipper or client put on logs.raw, ticks left out."""
    async def run():
        return [(p, k, json.loads(v)) async for p, _o, k, v in read_topic(bootstrap, "logs.raw", to_end=True)
                if k != b"__tick__"]

    return asyncio.run(run())


def tick_every_partition(bootstrap: str, at: float, partitions: int) -> None:
    """The clock, as the worker's tick stage writes it, on every logs.raw partition."""
    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for p in range(partitions):
                await producer.send_and_wait("logs.raw", encode_tick(at), key=b"__tick__", partition=p,
                                             timestamp_ms=int(at * 1000))
        finally:
            await producer.stop()

    asyncio.run(run())


def wait_for(bootstrap: str, topic: str, predicate: Callable[[list[dict]], bool], timeout: float = 90,
             worker: WorkerProcess | None = None, to_end: bool = True) -> list[dict]:
    """The topic's records once `predicate` holds for them. Each look reads the topic to its
    end as of that moment (an end confirmed by a fetch): a read that stopped after half a
    second without a record could stop before the first fetch of a loaded broker was
    answered and see nothing (a full run: "0 records" for 90 s of a topic being written)."""
    deadline = time.monotonic() + timeout
    records: list[dict] = []
    while time.monotonic() < deadline:
        records = read_json(bootstrap, topic, idle=0.5, to_end=to_end)
        if predicate(records):
            return records
        if worker is not None and worker.proc is not None and worker.proc.poll() is not None:
            raise AssertionError(f"worker died:\n{worker.tail()}")
        time.sleep(0.5)
    detail = worker.tail() if worker else ""
    raise AssertionError(f"{topic}: condition not met in {timeout}s; {len(records)} records; "
                         f"last: {records[-3:]}\n{detail}")


def minute_lines(service: str, t0: float, minute: int, infos: int = 10, errors: list[str] | None = None
                 ) -> list[tuple[str, str, float]]:
    """JSON log lines of one service for one minute: `infos` info lines and the errors given."""
    out = []
    base = t0 + minute * 60
    for i in range(infos):
        ts = base + 1 + i * (50 / max(infos, 1))
        out.append((service, json.dumps({"ts": ts, "level": "info", "service": service,
                                         "msg": f"GET /api/items/{1000 + i} 200"}), ts))
    for j, line in enumerate(errors or []):
        ts = base + 2 + j * 0.5
        out.append((service, line.replace("{ts}", str(ts)), ts))
    out.sort(key=lambda r: r[2])
    return out
