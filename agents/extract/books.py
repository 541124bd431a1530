"""The window stage's side of a batch loop: `signals.partials` in, windows and a snapshot out.

`BookKeeper` owns the window book of one `signals.partials` partition. It applies
partials as the batch loop hands them over (`apply_partial`, pure), queues the windows
they close, and at each flush hands back those windows followed by a `BookSnapshot` of
the book and the last partials offset applied. The loop publishes them, waits for the
broker's acknowledgement, and only then commits: state and offsets move together, so a
crash or rebalance at any moment either re-applies partials onto the last snapshot (and
re-emits identical windows, which the reducer drops as redeliveries) or loses nothing.
(A Faust table here could commit a partial's offset before its changelog write was
stored; chaos runs lost partials that way.)

Pure: no Kafka, no Faust, no clock.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from agents.extract.config import ExtractConfig
from agents.extract.windows import WindowBook, apply_partial
from agents.redact import redact
from schemas.records import BookSnapshot, DeadLetter, PartialAggregate, encode

__all__ = ["BOOKS", "BookKeeper", "WINDOWS"]

PARTIALS = "signals.partials"
BOOKS = "signals.books"
WINDOWS = "signals.windows"
DEAD_LETTERS = "dead.letter"


class BookKeeper:
    """One window book for the batch loop. See the module docstring."""

    def __init__(self, partition: int, cfg: ExtractConfig, checkpoint: bytes | None = None,
                 observe: Callable[[WindowBook], None] | None = None):
        self.partition = partition
        self.cfg = cfg
        self.observe = observe
        snapshot = BookSnapshot.model_validate_json(checkpoint) if checkpoint else None
        if snapshot is None:
            self.book = WindowBook(partition=partition)
            self.consumed_to = -1
            self.resume_at: int | None = None
        else:
            self.book = WindowBook.from_dict(snapshot.book)
            self.consumed_to = snapshot.consumed_to
            self.resume_at = snapshot.consumed_to + 1
        self._out: list[tuple[str, int, bytes, bytes]] = []
        self._changed = False

    @property
    def urgent(self) -> bool:
        """Windows are waiting to be published: flush now rather than at the next tick."""
        return any(topic == WINDOWS for topic, *_ in self._out)

    def feed_records(self, records: Sequence[Any]) -> None:
        for record in records:
            if record.offset <= self.consumed_to:
                continue
            try:
                partial = PartialAggregate.model_validate_json(record.value)
            except ValueError as exc:  # never stops the book: the record goes to the dead letters
                self._out.append((DEAD_LETTERS, -1, PARTIALS.encode(), encode(self._dead_letter(record, exc))))
            else:
                for summary in apply_partial(self.book, partial, self.cfg):
                    self._out.append((WINDOWS, -1, summary.service.encode(), encode(summary)))
            self.consumed_to = record.offset
            self._changed = True

    def flush(self, caught_up: bool = False) -> tuple[list[tuple[str, int, bytes, bytes]], int | None]:
        if not self._changed:
            return [], None
        if self.observe is not None:
            self.observe(self.book)
        snapshot = BookSnapshot(trace_id=f"book|{self.partition}|{self.consumed_to}", book_partition=self.partition,
                                consumed_to=self.consumed_to, book=self.book.to_dict())
        out = [*self._out, (BOOKS, self.partition, str(self.partition).encode(), encode(snapshot))]
        self._out, self._changed = [], False
        return out, self.consumed_to

    def _dead_letter(self, record: Any, exc: Exception) -> DeadLetter:
        value = record.value or b""
        return DeadLetter(source_topic=PARTIALS, partition=self.partition, offset=record.offset,
                          key=(record.key or b"").decode("utf-8", "replace")[:200], stage="extract",
                          reason="invalid_partial", error=redact(f"{exc.__class__.__name__}: {exc}")[:500],
                          payload=redact(value[:2000].decode("utf-8", "replace")), payload_bytes=len(value))
