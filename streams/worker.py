"""The commands that run things: `up`, `worker`, `topics`, `broker`.

They start the embedded broker, create the declared topics and run the Faust worker
until Ctrl-C or SIGTERM. They never produce or read records themselves (that is
`streams.produce` and `streams.reading`), and never leave a broker or worker running
after they return.

A worker rides out a broker that goes away (a restart, a rolling upgrade): its clients
reconnect and it resumes when the broker is back. Only after `broker_loss_give_up_s`
without the broker does it exit (one line, code 1) for its supervisor to restart it. If
Faust stops the worker on a broker error meanwhile, `logwarden worker` waits for the
broker and restarts itself in place (same process), within the same deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from streams.brokers import BrokerError, start_broker
from streams.config import Config
from streams.errors import CliError
from streams.kafka import create_changelogs, create_topics, topic_names
from streams.net import port_is_free

__all__ = ["SHUTDOWN_GRACE_S", "BrokerWatch", "broker", "run_worker", "stages_of_up", "topics", "up"]

SHUTDOWN_GRACE_S = 20.0
# mode ends every stop by running a task that sleeps a whole second, for callbacks still
# queued once every service has stopped (connections closing); a tenth lets them run.
# Every stop of a worker is the difference shorter: `up`'s Ctrl-C, a replay's end.
LAST_TASK_S = 0.1
BROKER_GONE_GRACE_S = 5.0  # stopping with the broker gone: nothing to commit or leave, so do not wait long
BROKER_POLL_S = 2.0
EXIT_GAVE_UP = 1
_LOST_AT_ENV = "LW_BROKER_LOST_AT"  # carries the outage's start across an in-place restart (not a config key)
_RESTARTS_ENV = "LW_INPLACE_RESTARTS"  # times of earlier in-place restarts, so they cannot loop
MAX_INPLACE_RESTARTS = 5  # within broker_loss_give_up_s; then exit and let the supervisor decide

log = logging.getLogger("logwarden.broker")
_DEFAULT_THREAD_HOOK = threading.excepthook


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
        _BEFORE_GIVING_UP.append(embedded.stop)
        print(f"logwarden: {kind} broker on {embedded.bootstrap}", file=sys.stderr)
    cfg = stages_of_up(cfg)
    try:
        # Not `ride_out`: this process owns the broker, so it cannot restart itself in place.
        return run_worker(cfg, demo=demo, ride_out=False)
    finally:
        if embedded is not None:
            embedded.stop()
            state.unlink(missing_ok=True)
            print("logwarden: embedded broker stopped", file=sys.stderr)


def stages_of_up(cfg: Config) -> Config:
    """`up` runs everything, approved fixes too (dry runs unless `executor.allow_real`),
    while `worker`'s default stages leave the executor to more trusted workers.
    Configured `stages` are kept as they are."""
    if "stages" in cfg.model_fields_set or "executor" in cfg.stages:
        return cfg
    return cfg.model_copy(update={"stages": [*cfg.stages, "executor"]})


def run_worker(cfg: Config, *, demo: bool = False, ride_out: bool = True) -> int:
    from streams.app import create_app

    lost_at = os.environ.pop(_LOST_AT_ENV, "")
    if lost_at:  # restarted in place after a broker error: the outage's deadline still holds
        _wait_for_broker(cfg, float(lost_at))
    _create_topics(cfg, cfg.broker)
    _require_free_web_port(cfg)
    clock = None
    if demo:
        from streams.demo import DemoClock, demo_config

        clock = DemoClock()
        cfg = demo_config(cfg, clock.speed)
    app = create_app(cfg, clock=clock) if clock else create_app(cfg)
    if clock is not None:
        from streams.demo import register_demo

        register_demo(app, cfg, clock)
    _create_changelogs(app, cfg)
    print(f"logwarden: worker up, web on http://{cfg.web_host}:{cfg.web_port} (Ctrl-C stops)", file=sys.stderr)
    return execute(app, cfg, ride_out=ride_out)


def execute(app, cfg: Config, *, ride_out: bool = False) -> int:  # noqa: ANN001 - a faust.App
    """Run the app's worker until Ctrl-C or SIGTERM; its exit code.

    `ride_out`: when Faust stops the worker on a broker error, wait for the broker and
    restart this command in place (the process stays; its supervisor sees no exit).
    """
    from streams.logs import logging_config

    watch = BrokerWatch(cfg.broker, cfg.broker_loss_give_up_s, on_back=lambda: _restore_topics(app, cfg))
    # redirect_stdouts off: the console channel writes to the terminal itself.
    worker = _worker_class()(app, loglevel=cfg.log_level, logging_config=logging_config(cfg.log_level), quiet=True,
                             redirect_stdouts=False)

    def reason_of_stop() -> BaseException | None:
        if getattr(worker, "_signal_stop_time", None):  # asked to stop (SIGTERM, Ctrl-C): no restart
            return None
        return getattr(worker, "crash_reason", None) or worker.logwarden_start_error

    def leave(code: int) -> None:
        """The end of a stop that did not finish in time (called from the timer thread)."""
        reason = reason_of_stop()
        if code and ride_out and _is_broker_error(reason):
            _restart_in_place(cfg, reason, watch.lost_at or time.time())
        os._exit(code)

    worker.logwarden_watch, worker.logwarden_leave = watch, leave
    threading.excepthook = worker.logwarden_thread_failed
    watch.start()
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = int(exc.code or 0)
    else:
        code = 0
    finally:
        watch.stop()
    reason = reason_of_stop()
    if code and ride_out and _is_broker_error(reason):
        _restart_in_place(cfg, reason, watch.lost_at or time.time())
    return code


class BrokerWatch:
    """Whether the broker accepts connections, checked every BROKER_POLL_S from a thread.

    One log line when it goes away and one when it is back; after `give_up_s` away, one
    line on stderr and exit code 1 (a graceful stop would wait for the broker too). A TCP
    connection is the test: it works for every listener (plain, TLS, SASL) and says what
    matters here, that the broker process is there again.
    """

    def __init__(self, broker: str, give_up_s: float, *, lost_at: float | None = None,
                 poll_s: float = BROKER_POLL_S, exit=os._exit,  # noqa: ANN001 - for tests
                 on_back: Callable[[], None] | None = None):
        self.addresses = _addresses(broker)
        self.broker = broker
        self.on_back = on_back  # run in this thread once the broker is back after an outage
        self.give_up_s, self.poll_s, self._exit = give_up_s, poll_s, exit
        self.lost_at = lost_at  # wall-clock start of the current outage; None: reachable
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logwarden-broker-watch", daemon=True)

    @property
    def gone(self) -> bool:
        return self.lost_at is not None

    def start(self) -> None:
        if self.addresses:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.check(time.time())

    def reachable(self) -> bool:
        for host, port in self.addresses:
            try:
                with socket.create_connection((host, port), timeout=min(2.0, self.poll_s)):
                    return True
            except OSError:
                continue
        return False

    def check(self, now: float, reachable: bool | None = None) -> None:
        from streams.logs import BROKER_ERRORS

        up = self.reachable() if reachable is None else reachable
        if up:
            if self.lost_at is not None:
                log.warning("broker at %s reachable again after %.0f s; resuming", self.broker, now - self.lost_at)
                self.lost_at = None
                if self.on_back is not None:
                    self.on_back()
            line = BROKER_ERRORS.recovered()
            if line:
                log.warning("%s", line)
            return
        if self.lost_at is None:
            self.lost_at = now
            log.warning("broker at %s unreachable; riding it out for up to %.0f s", self.broker, self.give_up_s)
        elif now - self.lost_at >= self.give_up_s:
            _give_up(self.broker, now - self.lost_at, self._exit)


# Run before giving up: `os._exit` skips every `finally`, so `up` registers the stop of
# the embedded broker it started here (else a hung broker would outlive its owner).
_BEFORE_GIVING_UP: list[Callable[[], None]] = []


def _give_up(broker: str, away_s: float, exit=os._exit) -> None:  # noqa: ANN001
    print(f"logwarden: broker at {broker} unreachable for {away_s:.0f} s (broker_loss_give_up_s); giving up",
          file=sys.stderr, flush=True)
    for hook in _BEFORE_GIVING_UP:
        try:
            hook()
        except Exception as exc:  # noqa: BLE001 - giving up anyway; say what did not stop
            print(f"logwarden: while giving up: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    exit(EXIT_GAVE_UP)


def _addresses(broker: str) -> list[tuple[str, int]]:
    out = []
    for item in broker.removeprefix("kafka://").split(","):
        host, _, port = item.strip().rpartition(":")
        if host and port.isdigit():
            out.append((host.strip("[]"), int(port)))
    return out


def _is_broker_error(exc: BaseException | None) -> bool:
    """An error that says "the broker is not there", not "this program is wrong"."""
    from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

    from streams.kafka import BrokerUnreachable

    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, (KafkaConnectionError, KafkaTimeoutError, BrokerUnreachable, ConnectionError,
                            TimeoutError)):
            return True
        if isinstance(exc, KafkaError) and getattr(exc, "retriable", False):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _wait_for_broker(cfg: Config, lost_at: float) -> None:
    watch = BrokerWatch(cfg.broker, cfg.broker_loss_give_up_s, lost_at=lost_at)
    while not watch.reachable():
        if time.time() - lost_at >= cfg.broker_loss_give_up_s:
            _give_up(cfg.broker, time.time() - lost_at, lambda code: sys.exit(code))
        time.sleep(BROKER_POLL_S)


def _restart_in_place(cfg: Config, reason: BaseException, lost_at: float) -> None:  # returns only when it must not
    """Run this same command again in this process (exec): a fresh Faust app that, once
    the broker is back (`run_worker` waits, within the same deadline), rejoins its groups
    and resumes from what was committed, as a restart by a supervisor would."""
    now = time.time()
    earlier = [float(t) for t in os.environ.get(_RESTARTS_ENV, "").split(",") if t]
    recent = [t for t in earlier if now - t < cfg.broker_loss_give_up_s]
    if len(recent) >= MAX_INPLACE_RESTARTS:
        print(f"logwarden: worker stopped on {reason.__class__.__name__} (a broker error) for the "
              f"{len(recent) + 1}th time in {cfg.broker_loss_give_up_s:.0f} s; exiting", file=sys.stderr, flush=True)
        return
    print(f"logwarden: worker stopped on {reason.__class__.__name__} (a broker error); restarting in place "
          f"once the broker answers (gives up after {cfg.broker_loss_give_up_s:.0f} s)", file=sys.stderr, flush=True)
    os.environ[_LOST_AT_ENV] = repr(lost_at)
    os.environ[_RESTARTS_ENV] = ",".join(repr(t) for t in [*recent, now])
    sys.stdout.flush()
    os.execv(sys.executable, sys.orig_argv)


def _require_free_web_port(cfg: Config) -> None:
    if not port_is_free(cfg.web_host, cfg.web_port):
        raise CliError(f"web port {cfg.web_host}:{cfg.web_port} is busy (set LOGWARDEN_WEB_PORT or stop what uses it)")


def _worker_class():
    from faust.worker import Worker

    class StoppingWorker(Worker):
        """A worker whose stop cannot hang forever.

        A graceful stop commits, flushes and leaves the consumer groups; with the broker
        gone each of those waits for it. After SHUTDOWN_GRACE_S (BROKER_GONE_GRACE_S when
        the broker is known to be gone) the process exits anyway with code 3 (the log is
        the source of truth: nothing uncommitted is lost, it is redone). A crash is bounded
        the same way; on a broker error `logwarden worker` then restarts in place.
        """

        logwarden_watch: BrokerWatch | None = None
        logwarden_start_error: BaseException | None = None
        logwarden_leave: Callable[[int], None] = staticmethod(os._exit)
        _force_timer: threading.Timer | None = None

        def _schedule_shutdown(self, signal) -> None:  # noqa: ANN001 - mode's signature
            self._arm_force_exit()
            super()._schedule_shutdown(signal)

        def _crash(self, reason: BaseException) -> None:
            # A crash stops the worker too, and that stop waits for the broker the same way.
            self._arm_force_exit()
            super()._crash(reason)

        async def start(self) -> None:
            # mode runs the whole life of the worker inside start(): an exception raised in
            # any service's start ends it ("Error: NodeNotReadyError", exit 1) without being
            # a crash. Kept as the reason, so `execute` can tell a broker error from a bug.
            try:
                await super().start()
            except Exception as exc:
                self.logwarden_start_error = exc
                self._arm_force_exit()
                raise

        async def _sentinel_task(self) -> None:
            await asyncio.sleep(LAST_TASK_S)

        def _arm_force_exit(self) -> None:
            if self._force_timer is not None:
                return
            watch = self.logwarden_watch
            # With the broker gone the commit, flush and group leave can only time out.
            gone = watch is not None and watch.gone
            grace = BROKER_GONE_GRACE_S if gone else SHUTDOWN_GRACE_S

            def force() -> None:
                why = "with the broker gone" if watch is not None and watch.gone else "(broker gone?)"
                print(f"logwarden: shutdown took over {grace:.0f}s {why}; exiting", file=sys.stderr, flush=True)
                self.logwarden_leave(3)

            self._force_timer = threading.Timer(grace, force)
            self._force_timer.daemon = True
            self._force_timer.start()

        def logwarden_thread_failed(self, args) -> None:  # noqa: ANN001 - threading.ExceptHookArgs
            if self._force_timer is None and not self.should_stop:
                _DEFAULT_THREAD_HOOK(args)
                return
            # Faust's consumer thread is cancelled mid-retry when it stops with the broker
            # gone: one line, not a 35-line traceback.
            name = args.thread.name if args.thread is not None else "?"
            log.warning("thread %s ended with %s while stopping", name, args.exc_type.__name__)

    return StoppingWorker


def changelogs_of(app) -> list[tuple[str, int]]:  # noqa: ANN001 - a faust.App
    """(topic, partitions) of every table's changelog, as Faust will name them."""
    return sorted((t.changelog_topic.get_topic_name(), t.changelog_topic.partitions or t.partitions)
                  for t in app.tables.values())


def _create_changelogs(app, cfg: Config) -> dict[str, str]:  # noqa: ANN001 - a faust.App
    """Before the group join: a worker that joined first ran a moment without its tables."""
    return asyncio.run(create_changelogs(cfg.broker, changelogs_of(app), cfg.replication_factor))


def _restore_topics(app, cfg: Config) -> None:  # noqa: ANN001 - a faust.App
    """After an outage: create again, with their declared partition counts, the topics and
    changelogs the broker came back without (Tansu's memory storage loses them all). The
    worker's clients wait for them meanwhile: none of them may create a topic
    (`streams.kafka.client.no_topic_auto_creation`)."""
    try:
        status = {**_create_topics(cfg, cfg.broker), **_create_changelogs(app, cfg)}
    except Exception as exc:  # noqa: BLE001 - the next outage's return tries again; the worker goes on
        log.warning("broker back, but its topics could not be checked: %s: %s", type(exc).__name__, exc)
        return
    created = sorted(name for name, what in status.items() if what == "created")
    if created:
        log.warning("broker came back without %d of this worker's topics; created them again: %s",
                    len(created), ", ".join(created))


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
