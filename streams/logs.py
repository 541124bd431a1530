"""Structured logs that carry the trace id of the record being processed.

`trace_context(trace_id)` sets the id for the current task; every log line written
meanwhile carries it, so one incident can be followed from intake to notification
with `grep <trace_id>`. Log lines never contain secrets: stages log ids and counts,
not payloads.
"""

from __future__ import annotations

import json
import logging
import time

from agents.tracing import current_trace_id, trace_context

__all__ = ["JsonFormatter", "current_trace_id", "logging_config", "trace_context"]


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
            out["exc"] = record.exc_info[0].__name__
        return json.dumps(out, ensure_ascii=False)


def logging_config(level: str = "info", json_logs: bool = True) -> dict:
    fmt = {"()": JsonFormatter} if json_logs else {"format": "[%(asctime)s] %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": fmt},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {"aiokafka": {"level": "WARNING"}, "faust": {"level": "WARNING"}, "mode": {"level": "WARNING"}},
    }


def epoch() -> float:
    return time.time()
