"""The executor's journal: what it did about one approval id, durable before anything runs.

Why a local file, written with fsync, and not the broker or a changelog table:

- An order's offset is committed only after its handler returned. A worker killed
  (SIGKILL, power loss) while the runbook runs, or after it ran but before the commit,
  gets the same order again from Kafka on restart, or another worker does after a
  rebalance. Redelivery is certain; only the journal tells "never ran" from "ran".
- A changelog table write is asynchronous: Faust sends it to the changelog topic some
  time after the assignment, with no way to wait for it, so a crash right after "mark
  started" and exec could lose the mark and run the runbook twice.
- A line written and fsynced (file and directory) before `exec` is on disk before the
  process exists. So, for every order, the journal decides:
  none -> run it; "started" without "finished" -> it was running when the worker died:
  it is NOT run again (a half-done restart may not be safe to repeat; a person decides)
  and is reported `interrupted`; "finished" -> report the same outcome again (the
  earlier report may not have reached the broker).

The journal is local to the host: workers that run the executor stage must share
`data_dir` (one host, or a shared filesystem with working fsync), or the order of a
service that moves to another host after a crash is run there again. Orders are keyed
by service, so one worker owns a service's partition at a time.

One file per approval, JSON lines, appended: `{"step": "started", ...}` then
`{"step": "finished", ...}`. A line torn by a crash is ignored: the "started" line is
complete on disk before the process starts, so a torn one means nothing ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["JOURNAL_FILE", "Journal", "JournalState", "run_dir"]

JOURNAL_FILE = "journal.jsonl"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def run_dir(root: Path, approval_id: str) -> Path:
    """The working directory of one approval: readable, and distinct for distinct ids.

    The id comes from a record, so it is sanitised (no `/`, no `..`) and carries a short
    hash of the id as given, so `a:b` and `a_b` never share a directory.
    """
    safe = _UNSAFE.sub("_", approval_id).strip("._-")[:80] or "approval"
    digest = hashlib.sha256(approval_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return Path(root) / f"{safe}-{digest}"


@dataclass(frozen=True)
class JournalState:
    """What the journal says about one approval."""

    started: dict[str, Any] | None = None
    finished: dict[str, Any] | None = None

    @property
    def interrupted(self) -> bool:
        return self.started is not None and self.finished is None


class Journal:
    """The journal file of one approval's working directory."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / JOURNAL_FILE

    def read(self) -> JournalState:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return JournalState()
        started = finished = None
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # torn by a crash mid-write: that step did not happen
            if not isinstance(entry, dict):
                continue
            if entry.get("step") == "started" and started is None:
                started = entry
            elif entry.get("step") == "finished" and finished is None:
                finished = entry
        return JournalState(started, finished)

    def prepare(self) -> None:
        """Create the working directory, durably (its parent's entry is synced too)."""
        created = not self.directory.is_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        if created:
            _fsync_dir(self.directory.parent)

    def write(self, step: str, **fields: Any) -> None:
        """Append one step and return only once it is on disk."""
        self.prepare()
        line = json.dumps({"step": step, **fields}, sort_keys=True, ensure_ascii=True) + "\n"
        new = not self.path.exists()
        if not new and not _ends_a_line(self.path):
            line = "\n" + line  # after a line torn by a crash: start a line of our own
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            data = memoryview(line.encode())
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            _fsync_dir(self.directory)


def _ends_a_line(path: Path) -> bool:
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
