"""Running one argv: no shell, its own directory and process group, bounded in time and output.

The program is started with `exec` directly (a parameter is one argv element whatever
it contains), in a new session, so on timeout the whole group it started is killed,
not only the first process. Its environment is the worker's without `LOGWARDEN_*`
variables (they hold the worker's secrets). Output (stdout and stderr together) is
kept up to a bound while the rest is read and dropped, so a chatty program never
blocks on a full pipe nor fills memory; it is redacted before it is kept anywhere.

Never raises for anything the program does (missing, not executable, killed): that
is an outcome.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from agents.redact import redact

__all__ = ["Outcome", "clip_output", "run_argv"]

_READ = 65536
_DRAIN_AFTER_EXIT_S = 1.0  # how long output may still arrive once the program exited
_CUT_MARK = "\n[... output cut]"


@dataclass(frozen=True)
class Outcome:
    status: str  # ok, failed, timeout
    exit_status: int | None
    output: str  # redacted, at most max_output_bytes of UTF-8
    duration_s: float


def clip_output(raw: bytes, max_bytes: int, *, cut: bool = False) -> str:
    """Redact, then cut to `max_bytes` of UTF-8 (whole characters), saying when cut.

    Redaction comes first so a secret is never cut in a way that hides it from the
    rules. `cut`: `raw` is already the head of a longer output; its last, incomplete
    line is dropped so a secret split at that edge is not kept half.
    """
    if cut and b"\n" in raw:
        raw = raw[:raw.rindex(b"\n") + 1]
    text = redact(raw.decode("utf-8", errors="replace"))
    data = text.encode("utf-8")
    if len(data) <= max_bytes and not cut:
        return text
    room = max(0, max_bytes - len(_CUT_MARK.encode()))
    return data[:room].decode("utf-8", errors="ignore") + _CUT_MARK


def _environment(base: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in base.items() if not k.upper().startswith("LOGWARDEN_")}


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


async def run_argv(argv: tuple[str, ...] | list[str], cwd: Path, timeout_s: float, max_output_bytes: int,
                   *, env: Mapping[str, str] | None = None) -> Outcome:
    """Run `argv` in `cwd`; kill its process group after `timeout_s` (status "timeout")."""
    started = time.monotonic()
    keep = max(4 * max_output_bytes, 65536)  # raw bytes kept for redaction, then cut
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=str(cwd), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            env=_environment(os.environ if env is None else env))
    except OSError as exc:  # not found, not executable, bad cwd
        reason = exc.strerror or exc.__class__.__name__
        return Outcome("failed", None, clip_output(f"cannot start {argv[0]}: {reason}".encode(), max_output_bytes),
                       time.monotonic() - started)

    head = bytearray()
    total = 0

    async def read() -> None:
        nonlocal total
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(_READ):
            total += len(chunk)
            if len(head) < keep:
                head.extend(chunk[:keep - len(head)])

    reader = asyncio.ensure_future(read())
    status = "ok"
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except asyncio.TimeoutError:
            status = "timeout"
            _kill_group(proc)
            await proc.wait()
        # What the program wrote before it ended; a child still holding the pipe does not
        # hold the run: it is killed with the group below.
        left = max(0.0, min(_DRAIN_AFTER_EXIT_S, timeout_s - (time.monotonic() - started)))
        try:
            await asyncio.wait_for(asyncio.shield(reader), left or 0.05)
        except asyncio.TimeoutError:
            pass
    finally:
        # Also on cancellation (the worker stopping): nothing the run started outlives it.
        _kill_group(proc)
        reader.cancel()
        if proc.returncode is None:
            try:
                await asyncio.shield(proc.wait())
            except asyncio.CancelledError:
                pass
    code = proc.returncode
    if status == "ok" and code != 0:
        status = "failed"
    output = clip_output(bytes(head), max_output_bytes, cut=total > len(head))
    return Outcome(status, code, output, time.monotonic() - started)
