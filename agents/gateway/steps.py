"""Work cut into steps: a generator that yields between bounded pieces of work and then
returns its result.

The web shell gives the event loop a turn at every step, so one large request never
holds `/healthz` or another request for long; tests and small callers run the steps
straight through with `run_steps`. Must never do I/O: a step is CPU work only.

A step allocates thousands of short-lived objects (parsed JSON, records) that reference
counting frees; a garbage collection in the middle of one would promote them and, in a
worker holding a few hundred thousand objects, soon trigger full collections of
100-600 ms. `paused_gc` keeps the cyclic collector out of a step.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Generator, Generic, Iterator, TypeVar

__all__ = ["Stepped", "Steps", "paused_gc", "run_steps"]

T = TypeVar("T")
Steps = Generator[None, None, T]


class Stepped(Generic[T]):
    """Iterate it to do the work step by step; `result` holds what the work returned."""

    def __init__(self, work: Steps[T]) -> None:
        self._work = work
        self.result: T | None = None

    def __iter__(self) -> Iterator[None]:
        self.result = yield from self._work


def run_steps(work: Steps[T]) -> T:
    """All steps at once, without giving anything else a turn."""
    stepped = Stepped(work)
    for _ in stepped:
        pass
    return stepped.result  # type: ignore[return-value]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block (acyclic work only: parsing, encoding)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
