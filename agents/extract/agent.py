"""Thin shell of extraction: two batch loops, `logs.raw` -> partials -> windows.

Stage 1 reads `logs.raw`: whole fetched batches go to the pure `SourceExtractor` of
their partition, which about once a second publishes one partial per window book to
`signals.partials` (acknowledged, then the offsets are committed; the partials are also
its checkpoint). Stage 2 reads `signals.partials`: the `BookKeeper` of each partition
folds partials into its `WindowBook`, publishes every window the low watermark over all
source partitions closed to `signals.windows`, then a snapshot of the book to
`signals.books` (its checkpoint), and only then are the partials' offsets committed.
Never: parse lines here, read a wall clock for window decisions.
"""

from __future__ import annotations

from prometheus_client import Gauge

from agents.extract.batch import PARTIALS, SOURCE, SourceExtractor, is_checkpoint
from agents.extract.books import BOOKS, BookKeeper
from agents.extract.windows import WindowBook

__all__ = ["register"]

ACCOUNTING = Gauge("logwarden_window_book_anomalies", "Partials applied out of order, per book: offset ranges "
                   "counted twice in part (overlap) or after a gap in a source partition's offsets (gap)",
                   ["book", "kind"])


def _observe(book: WindowBook) -> None:
    ACCOUNTING.labels(str(book.partition), "overlap").set(book.overlapping_ranges)
    ACCOUNTING.labels(str(book.partition), "gap").set(book.offset_gaps)


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    stage.batch(name="extract", source=SOURCE, checkpoint_topic=PARTIALS, is_checkpoint=is_checkpoint,
                make=lambda partition, checkpoint: SourceExtractor(partition, cfg.extract, cfg.partitions, checkpoint))
    stage.batch(name="windows", source=PARTIALS, checkpoint_topic=BOOKS, is_checkpoint=lambda value, partition: True,
                make=lambda partition, checkpoint: BookKeeper(partition, cfg.extract, checkpoint, _observe))
