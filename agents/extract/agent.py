"""Thin shell of extraction: a batch loop over `logs.raw` and the window books.

Stage 1 is a batch loop (`streams.kafka.batch`): whole fetched batches of `logs.raw`
go to the pure `SourceExtractor` of their partition, which about once a second
publishes one partial per window book to `signals.partials` (acknowledged, then the
offsets are committed; the partials are also the checkpoint). Stage 2 folds partials
into a changelogged `WindowBook` per `signals.partials` partition and publishes every
window the low watermark over all source partitions closed to `signals.windows`.
Never: parse lines here, read a wall clock for window decisions, or raise out of a
handler (the stage runner dead-letters what fails).
"""

from __future__ import annotations

from prometheus_client import Gauge

from agents.extract.batch import PARTIALS, SOURCE, SourceExtractor, is_checkpoint
from agents.extract.windows import WindowBook, apply_partial
from schemas.effects import Publish, Store
from schemas.records import PartialAggregate

__all__ = ["register"]

ACCOUNTING = Gauge("logwarden_window_book_anomalies", "Partials applied out of order, per book: offset ranges "
                   "counted twice in part (overlap) or after a gap in a source partition's offsets (gap)",
                   ["book", "kind"])


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    books = stage.table("window-books")
    stage.batch(name="extract", source=SOURCE, checkpoint_topic=PARTIALS,
                make=lambda partition, checkpoint: SourceExtractor(partition, cfg.extract, cfg.partitions, checkpoint),
                is_checkpoint=is_checkpoint)

    async def fold(partial: PartialAggregate, source) -> list:  # noqa: ANN001
        key = f"p{source.partition}"
        raw = books.get(key)
        book = WindowBook.from_dict(raw) if raw else WindowBook(partition=source.partition)
        summaries = apply_partial(book, partial, cfg.extract)
        ACCOUNTING.labels(key, "overlap").set(book.overlapping_ranges)
        ACCOUNTING.labels(key, "gap").set(book.offset_gaps)
        return [*(Publish("signals.windows", s.service, s) for s in summaries),
                Store("window-books", key, book.to_dict())]

    stage.consume({PARTIALS: PartialAggregate}, fold, agent="windows", invalid_reason="invalid_partial")
