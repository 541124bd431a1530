"""Structured logs that carry the trace id of the record being processed.

`trace_context(trace_id)` sets the id for the current task; every log line written
meanwhile carries it, so one incident can be followed from intake to notification
with `grep <trace_id>`. Log lines never contain secrets: stages log ids and counts,
not payloads.

While the broker is unreachable, aiokafka logs every retry of every client (thousands of
lines a minute). `BROKER_ERRORS` keeps that bounded: the first line of each kind, then one
summary every 30 s, then one line when the broker is back.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time

from agents.tracing import current_trace_id, trace_context

__all__ = ["BROKER_ERRORS", "BrokerErrorThrottle", "JsonFormatter", "current_trace_id", "logging_config",
           "trace_context"]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        trace = getattr(record, "trace_id", "") or current_trace_id()
        if trace:
            out["trace_id"] = trace
        if record.exc_info and record.exc_info[0] is not None:
            # The type, qualified ("struct.error", not "error"), and where it was raised:
            # enough to find the cause, and no message text (it may quote input).
            kind = record.exc_info[0]
            out["exc"] = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                where = "/".join(tb.tb_frame.f_code.co_filename.replace("\\", "/").rsplit("/", 2)[-2:])
                out["exc_at"] = f"{where}:{tb.tb_lineno}"
        return json.dumps(out, ensure_ascii=False)


# What the broker being unreachable looks like in the clients' logs. One such line opens
# an outage; meanwhile every warning of the Kafka-side loggers is throttled by kind.
_CONNECTION = re.compile(
    r"NodeNotReady|KafkaConnectionError|Connect call failed|Unable connect|Unable to update metadata"
    r"|coordinator dead|Coordinator Request failed|RequestTimedOut|KafkaTimeoutError|BrokerUnreachable"
    r"|Connection at \S+ closed|ConnectionRefused|ConnectionReset")
_CLIENT_LOGGERS = ("aiokafka", "faust", "mode", "streams.kafka")
_VOLATILE = re.compile(r"\d+")


class BrokerErrorThrottle(logging.Filter):
    """Bounded logging while the broker is unreachable.

    An outage opens with the first connection error. During it, each kind of client
    warning (its logger and text with the numbers masked) is written once; the rest are
    counted, and every `summary_every_s` one of them is rewritten into the summary
    ("broker unreachable for 45 s, 1,234 connection errors suppressed"). It ends when the
    worker sees the broker again (`recovered`), or after `quiet_s` without such errors.
    """

    def __init__(self, summary_every_s: float = 30.0, quiet_s: float = 60.0,
                 clock=time.monotonic):  # noqa: ANN001 - a () -> float
        super().__init__()
        self.summary_every_s, self.quiet_s, self.clock = summary_every_s, quiet_s, clock
        self._lock = threading.Lock()
        self._reset(None)

    def _reset(self, now: float | None) -> None:
        self.since: float | None = now  # start of the outage; None: no outage
        self.last_seen = now or 0.0
        self.last_summary = now or 0.0
        self.kinds: set[tuple[str, str]] = set()
        self.suppressed = 0  # since the last summary
        self.suppressed_total = 0

    @property
    def in_outage(self) -> bool:
        return self.since is not None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(_CLIENT_LOGGERS):
            return True
        text = record.getMessage()
        with self._lock:
            now = self.clock()
            if self.since is not None and now - self.last_seen > self.quiet_s:
                self._reset(None)  # an old outage that nobody closed
            if self.since is None:
                if not _CONNECTION.search(text):
                    return True
                self._reset(now)
            self.last_seen = now
            kind = (record.name, _VOLATILE.sub("#", text))
            if kind not in self.kinds:
                self.kinds.add(kind)
                return True
            self.suppressed += 1
            self.suppressed_total += 1
            if now - self.last_summary < self.summary_every_s:
                return False
            record.name, record.levelno, record.levelname = "logwarden.broker", logging.WARNING, "WARNING"
            record.msg, record.args, record.exc_info, record.exc_text = self._summary(now), (), None, None
            self.last_summary, self.suppressed = now, 0
            return True

    def _summary(self, now: float) -> str:
        return (f"broker unreachable for {now - (self.since or now):.0f} s, "
                f"{self.suppressed:,} connection errors suppressed")

    def recovered(self) -> str | None:
        """The broker answers again: close the outage; the line to log about it, if any."""
        with self._lock:
            if self.since is None:
                return None
            line = (f"broker connection errors stopped after {self.clock() - self.since:.0f} s; "
                    f"{self.suppressed_total:,} suppressed in all")
            quiet = self.suppressed_total == 0  # a blip whose every line was written: nothing to add
            self._reset(None)
            return None if quiet else line


BROKER_ERRORS = BrokerErrorThrottle()


def _broker_errors() -> BrokerErrorThrottle:
    return BROKER_ERRORS


def logging_config(level: str = "info", json_logs: bool = True) -> dict:
    fmt = {"()": JsonFormatter} if json_logs else {"format": "[%(asctime)s] %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": fmt},
        "filters": {"broker_errors": {"()": _broker_errors}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "filters": ["broker_errors"]}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {"aiokafka": {"level": "WARNING"}, "faust": {"level": "WARNING"}, "mode": {"level": "WARNING"}},
    }


def epoch() -> float:
    return time.time()
