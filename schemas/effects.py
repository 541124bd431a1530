"""What a stage's handler asks the stage runner to do: publish a record, store table state.

Handlers are plain functions that return these; the runner (`streams.stage`) carries
them out in order, publishing with acknowledgement. Keeping effects as data is what lets
the pure cores be tested without a broker. Nothing here performs I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.records import Record

__all__ = ["Publish", "Store", "WriteReport"]


@dataclass(frozen=True)
class Publish:
    """Send `record` to `topic` keyed by `key`; the runner waits for the broker's ack."""

    topic: str
    key: str
    record: Record


@dataclass(frozen=True)
class Store:
    """Set `table[key] = value` in one of the stage's changelogged tables (by name); a
    `None` value deletes the key (a tombstone on the changelog)."""

    table: str
    key: str
    value: Any


@dataclass(frozen=True)
class WriteReport:
    """Write a Markdown report: `filename` ("YYYY-MM-DD-incident-<slug>.md") relative to the reports folder."""

    filename: str
    content: str
