"""The optional compiled functions of the extraction core (`_scan.c`, built by setup.py
where a C compiler is present): each is None where it was not built, or when
`LOGWARDEN_PURE_PYTHON` is set (the Python code then runs; it is the reference)."""

from __future__ import annotations

import contextlib
import importlib
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


# Where each compiled function is held: (module, attribute).
_HELD = (("agents.extract.prefilter", "_compiled"), ("agents.extract.prefilter", "_compiled_flags"),
         ("agents.extract.formats", "_compiled_requests"), ("agents.extract.formats", "_compiled_plain"),
         ("agents.extract.findings", "_compiled_routes"),
         ("agents.extract.partition", "_compiled_count"), ("agents.extract.partition", "_compiled_tally"),
         ("agents.extract.partition", "_compiled_warning"), ("agents.extract.partition", "_compiled_fields"),
         ("agents.redact", "_compiled_plan"))


@contextlib.contextmanager
def pure_python() -> Iterator[None]:
    """Within: every compiled function of the core switched off, as where none was built
    (benchmarks measure both in one run; tests compare both)."""
    modules = {name: importlib.import_module(name) for name, _attribute in _HELD}
    held = [getattr(modules[name], attribute) for name, attribute in _HELD]
    for name, attribute in _HELD:
        setattr(modules[name], attribute, None)
    try:
        yield
    finally:
        for (name, attribute), value in zip(_HELD, held):
            setattr(modules[name], attribute, value)
