"""The extract stage's side of the batch loop: one source partition in, partials out.

`SourceExtractor` wraps the pure `PartitionExtractor` of one `logs.raw` partition for
the batch loop (`streams.kafka.batch`): it resumes after its last published partial,
and each flush splits the partial by service into one record per window book
(`split_partial`), so every book hears from every source partition. The copy sent to
book `p` of source `p` is the source's checkpoint. A fatal finding also goes out at
once, keyed by its service, to `signals.urgent` (a `FatalSignal`, once per fingerprint,
window and source partition), so the incident opens before its window closes; the
batch loop flushes right after the batch that noted it (`urgent`).

Pure: no Kafka, no Faust, no clock.
"""

from __future__ import annotations

from typing import Any, Sequence

import orjson

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor
from agents.extract.windows import split_partial
from schemas.records import FatalSignal, Finding, PartialAggregate, encode

__all__ = ["DEAD_LETTERS", "PARTIALS", "SOURCE", "SourceExtractor", "URGENT", "is_checkpoint"]

SOURCE = "logs.raw"
PARTIALS = "signals.partials"
DEAD_LETTERS = "dead.letter"
URGENT = "signals.urgent"


IDLE_AFTER_FLUSHES = 3  # caught up with nothing new for this many flushes (about 3 s): idle


def is_checkpoint(value: bytes, partition: int) -> bool:
    """Is this `signals.partials` record one that source `partition` published over offsets?"""
    try:
        record = orjson.loads(value)
        return record.get("source_partition") == partition and not record.get("idle")
    except (orjson.JSONDecodeError, AttributeError):
        return False


class SourceExtractor:
    """One `logs.raw` partition for the batch loop. See the module docstring."""

    def __init__(self, partition: int, cfg: ExtractConfig, books: int, checkpoint: bytes | None = None):
        self.partition = partition
        self.books = books
        last = PartialAggregate.model_validate_json(checkpoint) if checkpoint else None
        self.quiet_flushes = 0
        self.idle_sent = False
        # Only a partition that never held a record may be declared idle: one that had
        # data and went quiet is waited for (its next owner may be starting up after a
        # rebalance, and its lines must not arrive after the others closed their minutes).
        self.ever_fed = checkpoint is not None
        if last is None:
            self.core = PartitionExtractor(partition, cfg)
            self.resume_at: int | None = None
        else:
            self.core = PartitionExtractor(partition, cfg, watermark=last.watermark, resume_after=last.offset_to)
            self.resume_at = last.offset_to + 1

    @property
    def urgent(self) -> bool:
        """A fatal finding waits to be sent: the batch loop flushes now, not in a second."""
        return bool(self.core.accounts.urgent)

    def feed_records(self, records: Sequence[Any]) -> None:
        if records:
            self.ever_fed = True
        self.core.feed_records(records)

    def flush(self, caught_up: bool = False) -> tuple[list[tuple[str, int, bytes, bytes]], int | None]:
        """Partials (one per book) and dead letters since the last flush, and the last offset
        covered. `caught_up`: the partition has nothing more to read right now; a partition
        that never held a record, caught up for a few flushes, is declared idle to the
        books, so a partition nobody writes to (ticks off: replays, tests) does not hold
        every window open."""
        partial, letters = self.core.flush()
        out = [(URGENT, -1, record.service.encode(), encode(record)) for record in self._fatal_signals()]
        out += [(DEAD_LETTERS, -1, SOURCE.encode(), encode(letter)) for letter in letters]
        key = str(self.partition).encode()
        if partial is None:
            self.quiet_flushes = self.quiet_flushes + 1 if caught_up and not self.ever_fed else 0
            if self.quiet_flushes >= IDLE_AFTER_FLUSHES and not self.idle_sent:
                self.idle_sent = True
                marker = PartialAggregate(
                    trace_id=f"extract|{self.partition}|idle", source_partition=self.partition, offset_from=-1,
                    offset_to=-1, watermark=max(self.core.watermark, 0.0), source_partitions=self.books, idle=True)
                out += [(PARTIALS, book, key, encode(marker)) for book in range(self.books)]
            return out, None
        self.quiet_flushes, self.idle_sent = 0, False
        partial = partial.model_copy(update={"source_partitions": self.books})
        # The checkpoint copy (book == source partition) goes last: once it is acknowledged
        # with the others, the whole flush is.
        for book, piece in sorted(split_partial(partial, self.books), key=lambda bp: bp[0] == self.partition):
            out.append((PARTIALS, book, key, encode(piece)))
        return out, partial.offset_to

    def _fatal_signals(self) -> list[FatalSignal]:
        # Sent before the partials: an urgent record that arrives after its window's
        # summary changes nothing, and a redelivered one is dropped by its id.
        return [FatalSignal(id=f"{service}|{start}|{finding['fingerprint']}",
                            trace_id=f"extract|{self.partition}|urgent", service=service,
                            window_start=float(start), at=float(finding["first_seen"]),
                            finding=Finding.model_validate(finding), source_partition=self.partition)
                for service, start, finding in self.core.take_urgent()]
