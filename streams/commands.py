"""What each `logwarden` command does (the CLI module only parses and reports)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Iterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError

from streams.admin import BrokerUnreachable, TopicMismatch, create_topics, topic_names
from streams.brokers import BrokerError, start_broker
from streams.errors import CliError
from streams.net import port_is_free
from streams.config import Config

__all__ = ["broker", "read_topic", "run_worker", "send_logs", "service_of_line", "tail", "topics", "up"]


# --- brokers and workers -------------------------------------------------------------

def up(cfg: Config, *, demo: bool = False, broker_kind: str | None = None) -> int:
    """Embedded broker (unless configured), topics, worker with web; Ctrl-C stops all."""
    if not port_is_free(cfg.web_host, cfg.web_port):
        raise CliError(f"web port {cfg.web_host}:{cfg.web_port} is busy (set LOGWARDEN_WEB_PORT or stop what uses it)")
    embedded = None
    state = Path(cfg.data_dir) / "broker.json"
    if not cfg.broker:
        kind = broker_kind or cfg.embedded_broker
        print(f"logwarden: starting the embedded {kind} broker ...", file=sys.stderr)
        try:
            embedded = start_broker(kind, Path(cfg.data_dir) / "broker")
        except BrokerError as exc:
            raise CliError(f"embedded broker failed to start: {exc}") from None
        update = {"broker": embedded.bootstrap}
        if kind == "tansu" and "rebalance_timeout_s" not in cfg.model_fields_set:
            # Tansu holds a JoinGroup for part of the rebalance timeout: short keeps restarts fast.
            update["rebalance_timeout_s"] = 10.0
        cfg = cfg.model_copy(update=update)
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"bootstrap": embedded.bootstrap, "kind": kind, "pid": os.getpid()}))
        print(f"logwarden: {kind} broker on {embedded.bootstrap}", file=sys.stderr)
    try:
        return run_worker(cfg, demo=demo)
    finally:
        if embedded is not None:
            embedded.stop()
            state.unlink(missing_ok=True)
            print("logwarden: embedded broker stopped", file=sys.stderr)


def run_worker(cfg: Config, *, demo: bool = False) -> int:
    from streams.app import create_app
    from streams.logs import logging_config

    bootstrap = cfg.broker.removeprefix("kafka://")
    _create_topics_or_fail(bootstrap, cfg)
    if not port_is_free(cfg.web_host, cfg.web_port):
        raise CliError(f"web port {cfg.web_host}:{cfg.web_port} is busy (set LOGWARDEN_WEB_PORT or stop what uses it)")
    clock = None
    if demo:
        from streams.demo import DemoClock

        clock = DemoClock()
    app = create_app(cfg, clock=clock) if clock else create_app(cfg)
    if clock is not None:
        from streams.demo import register_demo

        register_demo(app, cfg, clock)
    print(f"logwarden: worker up, web on http://{cfg.web_host}:{cfg.web_port} (Ctrl-C stops)", file=sys.stderr)
    # redirect_stdouts off: the console channel writes to the terminal itself.
    worker = _worker_class()(app, loglevel=cfg.log_level, logging_config=logging_config(cfg.log_level), quiet=True,
                     redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


SHUTDOWN_GRACE_S = 20.0


def _worker_class():
    from faust.worker import Worker

    class StoppingWorker(Worker):
        """A worker whose stop cannot hang forever.

        A graceful stop commits, flushes and leaves the consumer groups; with the broker
        gone each of those waits for it. After SHUTDOWN_GRACE_S the process exits anyway
        (the log is the source of truth: nothing uncommitted is lost, it is redone).
        """

        def _schedule_shutdown(self, signal) -> None:  # noqa: ANN001 - mode's signature
            import os
            import threading

            def force() -> None:
                print(f"logwarden: shutdown took over {SHUTDOWN_GRACE_S:.0f}s (broker gone?); exiting",
                      file=sys.stderr, flush=True)
                os._exit(3)

            timer = threading.Timer(SHUTDOWN_GRACE_S, force)
            timer.daemon = True
            timer.start()
            super()._schedule_shutdown(signal)

    return StoppingWorker


def _create_topics_or_fail(bootstrap: str, cfg: Config) -> dict[str, str]:
    try:
        return asyncio.run(create_topics(bootstrap, cfg.partitions, cfg.replication_factor))
    except BrokerUnreachable as exc:
        raise CliError(str(exc)) from None
    except TopicMismatch as exc:
        raise CliError(str(exc)) from None


def topics(cfg: Config, bootstrap: str, command: str) -> int:
    if command == "list":
        for name in topic_names():
            print(name)
        return 0
    status = _create_topics_or_fail(bootstrap, cfg)
    for name, what in sorted(status.items()):
        print(f"{name}\t{what}")
    return 0


def broker(cfg: Config, args) -> int:
    if args.broker_command == "fetch-kafka-jars":
        from streams.brokers.kafka import fetch_jars

        try:
            print(fetch_jars())
        except BrokerError as exc:
            raise CliError(str(exc)) from None
        return 0
    kind = args.kind or cfg.embedded_broker
    try:
        b = start_broker(kind, Path(cfg.data_dir) / "broker")
    except BrokerError as exc:
        raise CliError(str(exc)) from None
    print(b.bootstrap, flush=True)
    try:
        b.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        b.stop()
    return 0


# --- producing and reading -----------------------------------------------------------

SERVICE_FIELDS = ("service", "service_name", "app", "application", "program", "appname", "syslog_identifier")


def service_of_line(line: bytes) -> str:
    """Cheap service lookup for keying: a top-level JSON field, else 'unknown'.

    The extraction stage does the full resolution (Kubernetes labels, syslog app-name,
    mapping); this only needs to be stable so one service stays on one partition.
    """
    if line[:1] != b"{":
        return "unknown"
    try:
        obj = json.loads(line)
    except ValueError:
        return "unknown"
    if isinstance(obj, dict):
        for field in SERVICE_FIELDS:
            value = obj.get(field)
            if isinstance(value, str) and value:
                return value
        k8s = obj.get("kubernetes")
        if isinstance(k8s, dict):
            labels = k8s.get("labels") or {}
            name = labels.get("app") or labels.get("app.kubernetes.io/name") or k8s.get("container_name")
            if isinstance(name, str) and name:
                return name
    return "unknown"


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    for raw in stream:
        line = raw.rstrip(b"\r\n")
        if line:
            yield line


class _Progress:
    """A progress bar on stderr for large inputs (bytes of the file read so far)."""

    def __init__(self, total: int, out: IO[str] = sys.stderr):
        self.total, self.out, self.start, self.last = total, out, time.monotonic(), 0.0
        self.enabled = total > 1_000_000

    def update(self, done: int, lines: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.25):
            return
        self.last = now
        frac = min(1.0, done / self.total) if self.total else 1.0
        bar = "#" * int(frac * 30)
        rate = lines / max(now - self.start, 1e-6)
        self.out.write(f"\r[{bar:<30}] {frac:6.1%} {lines:,} lines {rate:,.0f} lines/s")
        if final:
            self.out.write("\n")
        self.out.flush()


async def _producer(bootstrap: str) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=256 * 1024,
        max_request_size=16 * 1024 * 1024, request_timeout_ms=15000,
    )
    try:
        await asyncio.wait_for(producer.start(), 15)
    except (KafkaConnectionError, KafkaError, asyncio.TimeoutError, OSError) as exc:
        await _quiet_stop(producer)
        raise CliError(f"cannot reach the broker at {bootstrap}: {exc.__class__.__name__}") from None
    return producer


async def _quiet_stop(client) -> None:
    try:
        await client.stop()
    except Exception:  # noqa: BLE001
        pass


async def send_logs(bootstrap: str, file: str, *, service: str | None = None, out: IO[str] = sys.stdout) -> int:
    """Produce every non-empty line to logs.raw keyed by service; wait for every ack."""
    if file == "-":
        stream, total = sys.stdin.buffer, 0
    else:
        try:
            stream, total = open(file, "rb"), os.path.getsize(file)
        except OSError as exc:
            raise CliError(f"cannot read {file}: {exc.strerror}") from None
    producer = await _producer(bootstrap)
    progress = _Progress(total)
    fixed_key = service.encode() if service else None
    sent = 0
    digest = hashlib.sha256()
    pending: list[asyncio.Future] = []
    try:
        with stream:
            for line in _lines(stream):
                key = fixed_key or service_of_line(line).encode()
                pending.append(await producer.send("logs.raw", value=line, key=key))
                digest.update(line)
                digest.update(b"\n")
                sent += 1
                if len(pending) >= 5000:
                    await asyncio.gather(*pending)
                    pending.clear()
                    progress.update(stream.tell() if total else 0, sent)
            await asyncio.gather(*pending)
    except KafkaError as exc:
        raise CliError(f"producing to logs.raw failed after {sent} lines: {exc.__class__.__name__}") from None
    finally:
        await _quiet_stop(producer)
    progress.update(total, sent, final=True)
    print(f"sent {sent} lines to logs.raw (sha256 {digest.hexdigest()[:16]})", file=out)
    return 0


def parse_time(text: str, now: float | None = None) -> float:
    """ISO 8601, epoch seconds, or a relative `-30m` / `-2h` / `-1d` / `-45s`."""
    from datetime import datetime, timezone

    now = time.time() if now is None else now
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text.startswith("-") and text[-1:] in units:
        try:
            return now - float(text[1:-1]) * units[text[-1]]
        except ValueError:
            pass
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"cannot read the time {text!r}: use ISO 8601, epoch seconds or -30m/-2h/-1d") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


async def read_topic(bootstrap: str, topic: str, *, from_beginning: bool = True, count: int = 0,
                     idle_timeout: float = 0.0, since: float | None = None, until: float | None = None):
    """Yield (partition, offset, key, value) from every partition of a topic, no group.

    `since`/`until` (epoch seconds, record timestamps) bound a replay: each partition
    starts at its first record at or after `since` and stops after `until`.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                fetch_max_bytes=32 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)
    try:
        await asyncio.wait_for(consumer.start(), 15)
    except (KafkaConnectionError, KafkaError, asyncio.TimeoutError, OSError) as exc:
        await _quiet_stop(consumer)
        raise CliError(f"cannot reach the broker at {bootstrap}: {exc.__class__.__name__}") from None
    try:
        parts = consumer.partitions_for_topic(topic) or await _partitions(bootstrap, topic)
        if not parts:
            raise CliError(f"topic {topic} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        if since is not None:
            from streams.seek import offset_for_time

            starts = {tp: await offset_for_time(consumer, tp, int(since * 1000)) for tp in tps}
            for tp, offset in starts.items():
                consumer.seek(tp, offset)
        elif from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        stop_at: dict[TopicPartition, int] = {}
        if until is not None:
            ends = await consumer.end_offsets(tps)
            stop_at = {tp: ends[tp] for tp in tps}
            done: set[TopicPartition] = {tp for tp in tps if await consumer.position(tp) >= stop_at[tp]}
        seen = 0
        idle_since = time.monotonic()
        while True:
            if until is not None and len(done) == len(tps):
                return
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            if not batch:
                if idle_timeout and time.monotonic() - idle_since > idle_timeout:
                    return
                continue
            idle_since = time.monotonic()
            for tp, records in batch.items():
                for rec in records:
                    if until is not None and (rec.timestamp > until * 1000 or rec.offset >= stop_at[tp]):
                        done.add(tp)
                        consumer.pause(tp)
                        break
                    yield tp.partition, rec.offset, rec.key, rec.value
                    seen += 1
                    if count and seen >= count:
                        return
                if until is not None and records and records[-1].offset + 1 >= stop_at[tp]:
                    done.add(tp)
    finally:
        await _quiet_stop(consumer)


async def _partitions(bootstrap: str, topic: str) -> set[int]:
    """Partition numbers of a topic, asked of the cluster (a new topic's metadata can lag)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(25):
            described = await admin.describe_topics([topic])
            if described and described[0]["error_code"] == 0 and described[0]["partitions"]:
                return {p["partition"] for p in described[0]["partitions"]}
            await asyncio.sleep(0.2)
        return set()
    finally:
        await admin.close()


async def tail(bootstrap: str, topic: str, from_beginning: bool, count: int, timeout: float,
               out: IO[str] = sys.stdout, since: str | None = None, until: str | None = None) -> int:
    since_ts = parse_time(since) if since else None
    until_ts = parse_time(until) if until else None
    async for partition, offset, key, value in read_topic(
        bootstrap, topic, from_beginning=from_beginning, count=count, idle_timeout=timeout,
        since=since_ts, until=until_ts,
    ):
        k = key.decode(errors="replace") if key else ""
        v = value.decode(errors="replace") if value else ""
        out.write(f"{partition}:{offset}\t{k}\t{v}\n")
        out.flush()
    return 0


async def incidents(bootstrap: str, cfg: Config, command: str, incident_id: str | None) -> int:
    from streams.readside import fold_incidents

    folded = await fold_incidents(bootstrap)
    if command == "list":
        for inc in sorted(folded.values(), key=lambda i: i["opened_at"]):
            print(f"{inc['incident_id']}\t{inc['status']}\t{inc['severity']}\t{inc['service']}\t{inc['title']}")
        return 0
    inc = folded.get(incident_id or "")
    if inc is None:
        raise CliError(f"no incident {incident_id} in incidents.events")
    print(json.dumps(inc, indent=2, sort_keys=True))
    return 0


async def registry(bootstrap: str, cfg: Config) -> int:
    from streams.readside import fold_registry

    for entry in await fold_registry(bootstrap):
        print(f"{entry['entry_id']}\t{entry.get('jira_ticket_id','')}\t{entry.get('last_seen','')}")
    return 0
