"""The trace id of the record being processed, for the current task.

`trace_context(trace_id)` sets it; every log line written meanwhile carries it (see
`streams.logs.JsonFormatter`), so one incident can be followed from intake to
notification with `grep <trace_id>`. The stage runner sets it around each handler
call; a stage only needs it for work it starts outside a handler (web requests).
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

__all__ = ["current_trace_id", "trace_context"]

_TRACE: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="")


def current_trace_id() -> str:
    return _TRACE.get()


@contextlib.contextmanager
def trace_context(trace_id: str) -> Iterator[None]:
    token = _TRACE.set(trace_id)
    try:
        yield
    finally:
        _TRACE.reset(token)
