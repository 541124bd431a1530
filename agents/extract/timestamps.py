"""Event time of a log line: the many ways logs write a timestamp, to epoch seconds.

Never raises on bad input (returns None) and never reads the clock: formats without a
year (syslog RFC 3164) take it from the reference time the caller passes (the broker
timestamp of the record).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["parse_timestamp"]

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_ISO = re.compile(
    r"(\d{4})[-/.](\d\d)[-/.](\d\d)[T _-](\d\d)[:.](\d\d)[:.](\d\d)(?:[.,](\d{1,9}))?\s*(Z|[+-]\d\d:?\d\d|UTC|GMT)?")
_COMPACT = re.compile(r"(\d{4})(\d\d)(\d\d)-(\d\d):(\d\d):(\d\d)(?::(\d{1,3}))?")  # 20171223-22:15:29:606
# "10/Oct/2000:13:55:36 -0700" (access logs)
_CLF = re.compile(r"(\d\d)/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\s*([+-]\d{4}))?")
# "Mon Dec 26 16:22:08.103786 2016", "Dec 26 16:22:08", "27 Dec 2018 11:19:18.874", "Jul 09, 2015 3:23:29 PM"
_TEXT = re.compile(
    r"(?:(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+|(?:[A-Za-z]{3}\s+)?([A-Za-z]{3})\s+(\d{1,2}),?\s+(?:(\d{4})\s+)?)"
    r"(\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:\s+(\d{4}))?(?:\s*([AP]M))?")


def parse_timestamp(value: object, reference: float) -> float | None:
    """Epoch seconds from a number (s, ms, us or ns) or a text timestamp; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _from_number(float(value))
    if isinstance(value, dict):  # loguru: {"repr": ..., "timestamp": 1.7e9}
        return parse_timestamp(value.get("timestamp"), reference)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text[:1].isdigit() and text.replace(".", "", 1).isdigit():
        return _from_number(float(text))
    try:
        return _from_text(text, reference)
    except (ValueError, OverflowError):
        return None


def _from_number(number: float) -> float | None:
    if number <= 0:
        return None
    # Magnitude tells the unit: seconds until year ~5000, then ms, us, ns.
    for divisor in (1.0, 1e3, 1e6, 1e9):
        if number / divisor < 1e11:
            return number / divisor
    return None


def _fraction(digits: str | None) -> float:
    return float("0." + digits) if digits else 0.0


def _offset(zone: str | None) -> int:
    if not zone or zone in ("Z", "UTC", "GMT"):
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)


_DAYS: dict[tuple[int, int, int], float] = {}  # (year, month, day) -> epoch of its midnight UTC
_DAYS_KEPT = 4096


def _epoch(year: int, month: int, day: int, hour: int, minute: int, second: int) -> float:
    """What `datetime(...).timestamp()` gives (ValueError for a date or time that does not
    exist), at a third of its cost: a file's lines share a few days, so each day's
    midnight is computed once (`logwarden replay` reads every line's time)."""
    midnight = _DAYS.get((year, month, day))
    if midnight is None:
        midnight = datetime(year, month, day, tzinfo=timezone.utc).timestamp()
        if len(_DAYS) >= _DAYS_KEPT:
            _DAYS.clear()
        _DAYS[(year, month, day)] = midnight
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"no such time {hour:02d}:{minute:02d}:{second:02d}")
    return midnight + (hour * 3600 + minute * 60 + second)


_SECONDS: dict[str, float] = {}  # an ISO or access-log time to the second, with its zone -> epoch
_SECONDS_KEPT = 4096


def _second(key: str, epoch: float) -> float:
    if len(_SECONDS) >= _SECONDS_KEPT:
        _SECONDS.clear()
    _SECONDS[key] = epoch
    return epoch


def _from_text(text: str, reference: float) -> float | None:
    # A file's lines come many to the second: each second's epoch is computed once
    # (`logwarden replay` reads every line's time), keyed by its text up to the second
    # and its zone, both as written.
    match = _ISO.search(text, 0, 48)
    if match:
        zone = match.group(8)
        key = text[match.start():match.end(6)] + (zone or "")
        base = _SECONDS.get(key)
        if base is None:
            y, mo, d, h, mi, s = match.group(1, 2, 3, 4, 5, 6)
            base = _second(key, _epoch(int(y), int(mo), int(d), int(h), int(mi), int(s)) - _offset(zone))
        return base + _fraction(match.group(7))
    match = _CLF.search(text, 0, 48)
    if match:
        key = match.group(0)
        base = _SECONDS.get(key)
        if base is not None:
            return base
        d, mon, y, h, mi, s, zone = match.groups()
        month = _MONTHS.get(mon.lower())
        if month:
            return _second(key, _epoch(int(y), month, int(d), int(h), int(mi), int(s)) - _offset(zone))
    match = _COMPACT.match(text)
    if match:
        y, mo, d, h, mi, s, ms = match.groups()
        return _epoch(int(y), int(mo), int(d), int(h), int(mi), int(s)) + (int(ms) / 1000 if ms else 0.0)
    match = _TEXT.search(text, 0, 48)
    if match:
        return _from_text_match(match, reference)
    return None


def _from_text_match(match: re.Match[str], reference: float) -> float | None:
    day1, mon1, year1, mon2, day2, year2, h, mi, s, frac, year3, ampm = match.groups()
    month = _MONTHS.get((mon1 or mon2 or "").lower())
    if not month:
        return None
    day = int(day1 or day2)
    hour = int(h) % 12 + (12 if ampm == "PM" else 0) if ampm else int(h)
    year_text = year1 or year2 or year3
    if year_text:
        return _epoch(int(year_text), month, day, hour, int(mi), int(s)) + _fraction(frac)
    # No year (RFC 3164): the reference's year, or the year before if that would put
    # the line more than a day in the future (a December line read in January).
    year = datetime.fromtimestamp(reference, tz=timezone.utc).year
    stamp = _epoch(year, month, day, hour, int(mi), int(s)) + _fraction(frac)
    if stamp > reference + 86400:
        stamp = _epoch(year - 1, month, day, hour, int(mi), int(s)) + _fraction(frac)
    return stamp
