"""Event time from the timestamps logs write. Expected epochs from `date -u -d ... +%s`
and from the calendar (`datetime`), never from the parser itself."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from agents.extract.timestamps import parse_timestamp


@pytest.mark.parametrize(("text", "epoch"), [
    ("2023-11-14T22:13:20Z", 1700000000.0),
    ("2023-11-14T22:13:20.250Z", 1700000000.25),
    ("2023-11-14 23:13:20+01:00", 1700000000.0),
    ("10/Oct/2000:13:55:36 -0700", 971211336.0),  # the Apache docs' access-log example
    ("2016-12-31 23:59:59,999 ERROR x", 1483228799.999),
    ("2024-02-29T12:00:00Z", 1709208000.0),  # a leap day
])
def test_a_written_time_gives_its_epoch(text, epoch):
    assert parse_timestamp(text, 0.0) == pytest.approx(epoch, abs=1e-6)


@pytest.mark.parametrize("text", [
    "2023-02-30T10:00:00Z",  # no 30 February
    "2023-11-14T24:00:00Z",
    "2023-11-14T10:60:00Z",
    "2016-12-31T23:59:60Z",  # a leap second: Python's calendar has none
    "2023-13-01T10:00:00Z",
    "0000-01-01T00:00:00Z",
])
def test_a_time_that_does_not_exist_gives_none(text):
    assert parse_timestamp(text, 0.0) is None


def test_every_day_of_three_years_at_random_times_agrees_with_the_calendar():
    # Days are remembered once computed: each day is read twice, at two times of day.
    rng = random.Random(5)
    day = datetime(1999, 1, 1, tzinfo=timezone.utc)
    while day.year < 2002:
        for _ in range(2):
            at = day + timedelta(hours=rng.randrange(24), minutes=rng.randrange(60), seconds=rng.randrange(60))
            assert parse_timestamp(at.strftime("%Y-%m-%dT%H:%M:%SZ"), 0.0) == at.timestamp(), at
        day += timedelta(days=1)


def test_lines_of_one_second_keep_their_own_fraction_and_zone():
    # Seconds are remembered once computed: the same second as written, with another
    # fraction, another zone or none, another separator, must still give its own epoch.
    # 1700000000 = `date -u -d 2023-11-14T22:13:20Z +%s`.
    for _ in range(2):
        assert parse_timestamp("2023-11-14T22:13:20.250Z", 0.0) == pytest.approx(1700000000.25, abs=1e-6)
        assert parse_timestamp("2023-11-14T22:13:20.750Z", 0.0) == pytest.approx(1700000000.75, abs=1e-6)
        assert parse_timestamp("2023-11-14T22:13:20Z", 0.0) == 1700000000.0
        assert parse_timestamp("2023-11-14T22:13:20.5+01:00", 0.0) == pytest.approx(1700000000.5 - 3600, abs=1e-6)
        assert parse_timestamp("2023-11-14 22:13:20,125 INFO x", 0.0) == pytest.approx(1700000000.125, abs=1e-6)
        assert parse_timestamp("14/Nov/2023:22:13:20 +0000", 0.0) == 1700000000.0
        assert parse_timestamp("14/Nov/2023:23:13:20 +0100", 0.0) == 1700000000.0
        assert parse_timestamp("14/Nov/2023:22:13:20 -0700", 0.0) == 1700000000.0 + 7 * 3600
