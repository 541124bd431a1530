"""The commands that run things: `up`, `worker`, `topics`, `broker`.

They start the embedded broker, create the declared topics and run the Faust worker
until Ctrl-C or SIGTERM. They never produce or read records themselves (that is
`streams.produce` and `streams.reading`), and never leave a broker or worker running
after they return.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from pathlib import Path

from streams.brokers import BrokerError, start_broker
from streams.config import Config
from streams.errors import CliError
from streams.kafka import create_topics, topic_names
from streams.net import port_is_free

__all__ = ["SHUTDOWN_GRACE_S", "broker", "run_worker", "topics", "up"]

SHUTDOWN_GRACE_S = 20.0


def up(cfg: Config, *, demo: bool = False, broker_kind: str | None = None) -> int:
    """Embedded broker (unless configured), topics, worker with web; Ctrl-C stops all."""
    _require_free_web_port(cfg)
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

    _create_topics(cfg, cfg.broker)
    _require_free_web_port(cfg)
    clock = None
    if demo:
        from streams.demo import DemoClock

        clock = DemoClock()
    app = create_app(cfg, clock=clock) if clock else create_app(cfg)
    if clock is not None:
        from streams.demo import register_demo

        register_demo(app, cfg, clock)
    print(f"logwarden: worker up, web on http://{cfg.web_host}:{cfg.web_port} (Ctrl-C stops)", file=sys.stderr)
    return execute(app, cfg)


def execute(app, cfg: Config) -> int:  # noqa: ANN001 - a faust.App
    """Run the app's worker until Ctrl-C or SIGTERM; its exit code."""
    from streams.logs import logging_config

    # redirect_stdouts off: the console channel writes to the terminal itself.
    worker = _worker_class()(app, loglevel=cfg.log_level, logging_config=logging_config(cfg.log_level), quiet=True,
                             redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _require_free_web_port(cfg: Config) -> None:
    if not port_is_free(cfg.web_host, cfg.web_port):
        raise CliError(f"web port {cfg.web_host}:{cfg.web_port} is busy (set LOGWARDEN_WEB_PORT or stop what uses it)")


def _worker_class():
    from faust.worker import Worker

    class StoppingWorker(Worker):
        """A worker whose stop cannot hang forever.

        A graceful stop commits, flushes and leaves the consumer groups; with the broker
        gone each of those waits for it. After SHUTDOWN_GRACE_S the process exits anyway
        (the log is the source of truth: nothing uncommitted is lost, it is redone).
        """

        def _schedule_shutdown(self, signal) -> None:  # noqa: ANN001 - mode's signature
            def force() -> None:
                print(f"logwarden: shutdown took over {SHUTDOWN_GRACE_S:.0f}s (broker gone?); exiting",
                      file=sys.stderr, flush=True)
                os._exit(3)

            timer = threading.Timer(SHUTDOWN_GRACE_S, force)
            timer.daemon = True
            timer.start()
            super()._schedule_shutdown(signal)

    return StoppingWorker


def _create_topics(cfg: Config, broker: str) -> dict[str, str]:
    """Raises `BrokerUnreachable` or `TopicMismatch`; the CLI reports them in one line."""
    return asyncio.run(create_topics(broker, cfg.partitions, cfg.replication_factor, prefix=cfg.topic_prefix))


def topics(cfg: Config, broker: str, command: str) -> int:
    if command == "list":
        for name in topic_names():
            print(name)
        return 0
    status = _create_topics(cfg, broker)
    for name, what in sorted(status.items()):
        print(f"{name}\t{what}")
    return 0


def broker(cfg: Config, args) -> int:  # noqa: ANN001 - the parsed `broker` subcommand
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
