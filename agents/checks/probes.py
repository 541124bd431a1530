"""Curated probes: declared commands, HTTP JSON values and Prometheus queries that return numbers.

A command probe runs its program with its arguments directly (exec, never a shell
string), with a timeout after which it is killed. It prints one number per line:
`VALUE`, or `NAME VALUE` for probes that return several. HTTP and Prometheus probes
are in `agents.checks.probes_http`. Every probe becomes one `Outcome` whose metrics
are its numbers; a probe that fails or times out is `unknown`, which neither opens nor
resolves an incident. Output is never passed to a shell or echoed beyond one
redacted line.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
from typing import Any

from agents.checks.checkers import Outcome, grade
from agents.checks.config import ProbeSpec
from agents.redact import redact

__all__ = ["ProbeError", "json_value", "outcome_of", "parse_lines", "prometheus_values", "run_exec"]

_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")


class ProbeError(Exception):
    """A probe ran but gave nothing usable; the message is safe to publish."""


def parse_lines(text: str, probe: str) -> dict[str, float]:
    """`VALUE` (named after the probe) or `NAME VALUE` per non-empty line."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 1:
            name, raw = probe, parts[0]
        elif len(parts) == 2 and _METRIC.fullmatch(parts[0]):
            name, raw = parts[0], parts[1]
        else:
            raise ProbeError(f"cannot read a number from output line {redact(line)[:80]!r}")
        values[name] = _number(raw, name)
    if not values:
        raise ProbeError("printed no number")
    return values


def _number(raw: Any, name: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ProbeError(f"{redact(str(raw))[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise ProbeError(f"{name} is not a finite number")
    return value


def json_value(doc: Any, path: str, name: str) -> dict[str, float]:
    """The number at dotted `path` (`data.queues.0.depth`; empty: the document itself)."""
    node = doc
    for part in [p for p in path.split(".") if p]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ProbeError(f"no value at {path!r}")
    if isinstance(node, bool):
        raise ProbeError(f"{path!r} is a boolean, not a number")
    return {name: _number(node, name)}


def prometheus_values(doc: Any, name: str) -> dict[str, float]:
    """Values of an instant query answer: one series -> `name`, several -> `name{labels}`."""
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise ProbeError(f"prometheus answered {str(doc.get('errorType', 'an error') if isinstance(doc, dict) else 'non-JSON')[:60]}")
    data = doc.get("data") or {}
    result = data.get("result")
    if data.get("resultType") == "scalar":
        return {name: _number(result[1], name)}
    if data.get("resultType") != "vector" or not result:
        raise ProbeError("query returned no series")
    if len(result) == 1:
        return {name: _number(result[0]["value"][1], name)}
    values = {}
    for series in result:
        labels = ",".join(f"{k}={v}" for k, v in sorted(series.get("metric", {}).items()) if k != "__name__")
        values[f"{name}{{{labels}}}"] = _number(series["value"][1], name)
    return values


def outcome_of(spec: ProbeSpec, values: dict[str, float]) -> Outcome:
    """The probe's numbers graded by its optional thresholds (the worst value decides)."""
    unit = f" {spec.unit}" if spec.unit else ""
    status, crossed, value = "ok", None, next(iter(values.values()))
    for v in values.values():
        s, c = grade(v, spec.warning_threshold, spec.critical_threshold)
        if s == "fail" or (s == "warn" and status == "ok"):
            status, crossed, value = s, c, v
    shown = ", ".join(f"{k} {v:g}{unit}" for k, v in list(values.items())[:5])
    if crossed is not None:
        shown += f" (at or above {crossed:g}{unit})"
    return Outcome(f"probe:{spec.name}", status, f"probe {spec.name}: {shown}", value, crossed,
                   spec.warning_threshold, spec.critical_threshold, dict(values), {k: spec.unit for k in values})


async def run_exec(spec: ProbeSpec) -> dict[str, float]:
    """Run the command (no shell), kill it past the timeout, read its numbers."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *spec.command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True, env={**os.environ, "LOGWARDEN_PROBE": spec.name})
    except OSError as exc:
        raise ProbeError(f"cannot run {spec.command[0]}: {exc.strerror or exc.__class__.__name__}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), spec.timeout_s)
    except (TimeoutError, asyncio.TimeoutError):
        proc.kill()
        await proc.wait()
        raise ProbeError(f"timed out after {spec.timeout_s:g}s and was killed") from None
    if proc.returncode != 0:
        first = (err or out).decode(errors="replace").strip().splitlines()[:1]
        raise ProbeError(f"exited with status {proc.returncode}" + (f": {redact(first[0])[:160]}" if first else ""))
    return parse_lines(out.decode(errors="replace"), spec.name)
