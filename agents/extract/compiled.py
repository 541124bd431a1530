"""The optional compiled functions of the extraction core (`_scan.c`, built by setup.py
where a C compiler is present): each is None where it was not built, or when
`LOGWARDEN_PURE_PYTHON` is set (the Python code then runs; it is the reference)."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

__all__ = ["function", "pure_python"]


def function(name: str) -> Any:
    """The compiled function `name`, or None."""
    if os.environ.get("LOGWARDEN_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from agents.extract import _scan  # type: ignore[attr-defined]
    except ImportError:  # not built: no C compiler at install time
        return None
    return getattr(_scan, name, None)


@contextlib.contextmanager
def pure_python() -> Iterator[None]:
    """Within: every compiled function of the core switched off, as where none was built
    (benchmarks measure both in one run; tests compare both)."""
    from agents.extract import findings, formats, partition, prefilter

    held = (prefilter._compiled, prefilter._compiled_flags, formats._compiled_requests, findings._compiled_routes,
            partition._compiled_count, partition._compiled_tally, partition._compiled_warning)
    prefilter._compiled = prefilter._compiled_flags = formats._compiled_requests = findings._compiled_routes = None
    partition._compiled_count = partition._compiled_tally = partition._compiled_warning = None
    try:
        yield
    finally:
        (prefilter._compiled, prefilter._compiled_flags, formats._compiled_requests, findings._compiled_routes,
         partition._compiled_count, partition._compiled_tally, partition._compiled_warning) = held
