"""Broker loss in the logs: a few lines per outage, not one per retry; the watch that
rides the outage out and gives up after `broker_loss_give_up_s`."""

from __future__ import annotations

import logging

import pytest

from streams.logs import BrokerErrorThrottle
from streams.worker import BrokerWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


def _outage(throttle: BrokerErrorThrottle, clock: Clock, seconds: int, per_second: int = 200) -> list[str]:
    """What aiokafka writes while the broker is down, `per_second` retries a second."""
    kinds = ["Unable connect to node with id 111: [Errno 111] Connect call failed ('127.0.0.1', {port})",
             "Unable to update metadata from [111]",
             "Failed fetch messages from 111: NodeNotReadyError: Attempt to send a request to node {port}"]
    written = []
    for _ in range(seconds):
        clock.now += 1
        for i in range(per_second):
            record = _record("aiokafka", kinds[i % 3].format(port=40000 + i))
            if throttle.filter(record):
                written.append(record.getMessage())
    return written


def test_an_outage_writes_each_kind_once_and_a_summary_every_30_s():
    clock = Clock()
    throttle = BrokerErrorThrottle(clock=clock)
    written = _outage(throttle, clock, 95)
    assert len(written) == 3 + 3  # three kinds, summaries at 30, 60 and 90 s
    assert written[3].startswith("broker unreachable for 30 s, ") and "connection errors suppressed" in written[3]
    assert written[4] == "broker unreachable for 60 s, 6,000 connection errors suppressed"  # 30 s x 200/s
    line = throttle.recovered()
    assert line.startswith("broker connection errors stopped after 94 s") and "18,997 suppressed" in line
    assert throttle.recovered() is None  # one line per state change
    assert len(_outage(throttle, clock, 1)) == 3  # the next outage starts afresh


def test_other_warnings_pass_outside_an_outage():
    clock = Clock()
    throttle = BrokerErrorThrottle(clock=clock)
    for _ in range(5):
        assert throttle.filter(_record("faust.tables", "Timer commit is overlapping (interval=2.8 runtime=3.1)",
                                       logging.WARNING))
        assert throttle.filter(_record("streams.stage", "incidents handler failed"))
    assert not throttle.in_outage


def test_an_outage_nobody_closed_ends_after_a_quiet_minute():
    clock = Clock()
    throttle = BrokerErrorThrottle(clock=clock)
    _outage(throttle, clock, 2)
    clock.now += 61
    assert len(_outage(throttle, clock, 1)) == 3


def test_the_summary_is_a_log_record_of_its_own():
    clock = Clock()
    throttle = BrokerErrorThrottle(clock=clock)
    _outage(throttle, clock, 30)
    clock.now += 1
    record = _record("aiokafka", "Unable to update metadata from [111]")
    record.exc_info = (RuntimeError, RuntimeError("x"), None)
    assert throttle.filter(record)
    assert (record.name, record.levelname, record.exc_info) == ("logwarden.broker", "WARNING", None)


class Exited(Exception):
    pass


def _watch(give_up_s: float = 300) -> BrokerWatch:
    def exit(code: int) -> None:
        raise Exited(code)

    return BrokerWatch("127.0.0.1:1,127.0.0.1:2", give_up_s, exit=exit)


def test_the_watch_logs_loss_and_return_once_each(caplog):
    watch = _watch()
    with caplog.at_level(logging.WARNING, logger="logwarden.broker"):
        for t in range(0, 60, 2):
            watch.check(1000.0 + t, reachable=False)
        watch.check(1061.0, reachable=True)
        watch.check(1063.0, reachable=True)
    messages = [r.getMessage() for r in caplog.records if r.name == "logwarden.broker"]
    assert messages[0] == "broker at 127.0.0.1:1,127.0.0.1:2 unreachable; riding it out for up to 300 s"
    assert messages[1] == "broker at 127.0.0.1:1,127.0.0.1:2 reachable again after 61 s; resuming"
    assert len([m for m in messages if "broker at" in m]) == 2
    assert not watch.gone


def test_the_watch_gives_up_after_the_configured_time(capsys):
    watch = _watch(give_up_s=30)
    watch.check(1000.0, reachable=False)
    watch.check(1029.0, reachable=False)
    with pytest.raises(Exited) as exited:
        watch.check(1030.0, reachable=False)
    assert exited.value.args == (1,)
    assert capsys.readouterr().err.strip() == (
        "logwarden: broker at 127.0.0.1:1,127.0.0.1:2 unreachable for 30 s (broker_loss_give_up_s); giving up")


def test_a_short_blip_resets_the_deadline():
    watch = _watch(give_up_s=30)
    watch.check(1000.0, reachable=False)
    watch.check(1020.0, reachable=True)
    watch.check(1025.0, reachable=False)
    watch.check(1050.0, reachable=False)  # 25 s into the second outage: still riding it out
    assert watch.gone


def test_broker_errors_are_told_from_bugs():
    from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, UnsupportedVersionError

    from streams.worker import _is_broker_error

    assert _is_broker_error(NodeNotReadyError("node 111"))
    assert _is_broker_error(KafkaConnectionError("closed"))
    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except OSError as exc:
            raise RuntimeError("start failed") from exc
    except RuntimeError as wrapped:
        assert _is_broker_error(wrapped)
    assert not _is_broker_error(UnsupportedVersionError("v9"))
    assert not _is_broker_error(KeyError("x"))
    assert not _is_broker_error(None)


def test_a_worker_stopped_by_a_broker_error_restarts_in_place_a_bounded_number_of_times(monkeypatch, capsys):
    from aiokafka.errors import NodeNotReadyError

    from streams import worker
    from streams.config import load_config

    execs = []
    monkeypatch.setattr(worker.os, "execv", lambda exe, argv: execs.append(argv))
    monkeypatch.delenv(worker._RESTARTS_ENV, raising=False)
    monkeypatch.delenv(worker._LOST_AT_ENV, raising=False)
    cfg = load_config(environ={"LOGWARDEN_BROKER": "127.0.0.1:1"})
    for _ in range(worker.MAX_INPLACE_RESTARTS + 1):
        worker._restart_in_place(cfg, NodeNotReadyError("node 111"), 1000.0)
    assert len(execs) == worker.MAX_INPLACE_RESTARTS  # the same command, in this process
    assert execs[0] == worker.sys.orig_argv
    assert worker.os.environ[worker._LOST_AT_ENV] == "1000.0"  # the outage's deadline carries over
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("logwarden: worker stopped on NodeNotReadyError (a broker error); restarting in place")
    assert err[-1].startswith("logwarden: worker stopped on NodeNotReadyError (a broker error) for the 6th time")


def test_giving_up_stops_the_embedded_broker_first(monkeypatch, capsys):
    """`up` owns its embedded broker: giving up (os._exit skips every `finally`) must not
    leave the broker process running without its owner."""
    import streams.worker as worker

    stopped = []
    monkeypatch.setattr(worker, "_BEFORE_GIVING_UP", [lambda: stopped.append("broker")])
    watch = _watch(give_up_s=30)
    watch.check(1000.0, reachable=False)
    with pytest.raises(Exited):
        watch.check(1030.0, reachable=False)
    assert stopped == ["broker"]
