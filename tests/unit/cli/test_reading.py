"""`tail`: time arguments, and when it stops by itself."""

from __future__ import annotations

import asyncio
import io

import pytest

from streams import reading
from streams.cli import _parser
from streams.reading import parse_time


def test_parse_time_forms():
    assert parse_time("-2h", now=10_000.0) == 2_800.0
    assert parse_time("1790000000") == 1_790_000_000.0
    assert parse_time("2026-11-24T07:00:00Z") == parse_time("2026-11-24T07:00:00+00:00")


@pytest.mark.parametrize("argv, to_end", [
    (["tail", "t", "--from-beginning"], True),
    (["tail", "t", "--since=-1h"], True),
    (["tail", "t", "--from-beginning", "-f"], False),
    (["tail", "t", "--since=-1h", "--follow"], False),
    (["tail", "t"], False),  # from the end there is nothing to stop at: it follows
])
def test_tail_stops_at_the_end_unless_it_follows(monkeypatch, argv, to_end):
    asked = {}

    async def fake_read_topic(broker, topic, **kwargs):
        asked.update(kwargs)
        yield 0, 7, b"k", b"v"

    monkeypatch.setattr(reading, "read_topic", fake_read_topic)
    args = _parser().parse_args(argv)
    out = io.StringIO()
    code = asyncio.run(reading.tail("b:1", args.topic, args.from_beginning, args.count, args.timeout, out=out,
                                    since=args.since, until=args.until, follow=args.follow))
    assert code == 0 and out.getvalue() == "0:7\tk\tv\n"
    assert asked["to_end"] is to_end
