"""The compiled fast path (`_scan.count_lines`, `_scan.tally_requests`) counts what the
Python loop of `PartitionExtractor._feed` and its `_count_requests` count: the same
partials (lines, late lines, warnings, errors, routes, findings, watermark), the same
calibration and lag, whatever the batch sizes, for lines in their own minute, late
lines, lines of services with an exception open, keys that name no service and
calibration rounds. The Python code is the reference: each case runs once compiled,
once with the loop and the tally in Python, and once with no compiled part at all. No
broker."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.extract import partition
from agents.extract.compiled import pure_python
from agents.extract.config import ExtractConfig
from agents.extract.partition import CALIBRATE_EVERY, PartitionExtractor
from ops.bench import loadgen
from ops.bench.extract_core import _Fetched

pytestmark = pytest.mark.skipif(partition._compiled_count is None,
                                reason="compiled parts off: _scan not built (no C compiler) or LOGWARDEN_PURE_PYTHON set")

Row = tuple[bytes | None, bytes | None, int]  # key, value, broker time in ms


def _run(rows: list[Row], cuts: list[int], flush_every: int = 3) -> list:
    """Partials (and the extractor's calibration state) after feeding `rows` in batches cut at `cuts`."""
    extractor = PartitionExtractor(0, ExtractConfig())
    out, first = [], 0
    for number, cut in enumerate([*cuts, len(rows)]):
        batch = [_Fetched(first + i, key, value, ms) for i, (key, value, ms) in enumerate(rows[first:cut])]
        first = max(first, cut)
        if batch:
            extractor.feed_records(batch)
        if number % flush_every == flush_every - 1:
            partial, letters = extractor.flush()
            out.append((partial.model_dump() if partial else None, [letter.model_dump() for letter in letters],
                        extractor._since_calibration, dict(extractor._lag)))
    partial, letters = extractor.flush()
    out.append((partial.model_dump() if partial else None, [letter.model_dump() for letter in letters],
                extractor._since_calibration, dict(extractor._lag)))
    return out


def _counted_in_c(rows: list[Row], cuts: list[int]) -> int:
    counted = 0
    real = partition._compiled_count

    def counting(records, values, stamps, index, *rest):
        nonlocal counted
        result = real(records, values, stamps, index, *rest)
        counted += result[0] - index
        return result

    partition._compiled_count = counting
    try:
        _run(rows, cuts)
    finally:
        partition._compiled_count = real
    return counted


def _python_count(rows: list[Row], cuts: list[int], flush_every: int = 3) -> list:
    """The loop and the routes' tally in Python, the rest compiled."""
    held = partition._compiled_count, partition._compiled_tally
    partition._compiled_count = partition._compiled_tally = None
    try:
        return _run(rows, cuts, flush_every)
    finally:
        partition._compiled_count, partition._compiled_tally = held


def _all_three(rows: list[Row], cuts: list[int], flush_every: int = 3) -> list:
    compiled = _run(rows, cuts, flush_every)
    assert compiled == _python_count(rows, cuts, flush_every)
    with pure_python():
        assert compiled == _run(rows, cuts, flush_every)
    return compiled


def _loadgen_rows(count: int, broker_ms) -> list[Row]:
    return [(key, value, broker_ms(i)) for i, (key, value) in enumerate(loadgen.mixed_lines(count))]


def test_the_benchmark_lines_in_small_and_large_batches():
    # Broker time running with the lines' own clocks (1 ms a line), as in the core benchmark.
    rows = _loadgen_rows(30_000, lambda i: 1_790_000_000_000 + i)
    partials = _all_three(rows, list(range(500, 30_000, 500)))
    _all_three(rows, [7_000, 7_001, 29_000])
    lines = sum(w["lines"] for partial, *_ in partials if partial for s in partial["windows"].values()
                for w in s.values())
    assert lines == 30_000  # every line counted once, whichever way
    assert _counted_in_c(rows, list(range(500, 30_000, 500))) > 0.75 * len(rows)


def test_lines_far_behind_the_watermark_count_late_in_the_earliest_open_minute():
    # Broker time months after the lines' own times (a backlog shipped now): the lines
    # with no time of their own set the watermark at broker time, the others are late.
    rows = _loadgen_rows(20_000, lambda i: 1_796_000_000_000 + i // 10)
    partials = _all_three(rows, [20_000 // 3, 2 * 20_000 // 3])
    late = sum(w["late"] for partial, *_ in partials if partial for s in partial["windows"].values()
               for w in s.values())
    assert late > 5_000
    assert _counted_in_c(rows, [20_000 // 3, 2 * 20_000 // 3]) > 0.5 * len(rows)


def _text(service: str, at: float, level: str = "INFO", message: str = "job done") -> bytes:
    stamp = f"2026-11-24 10:{int(at // 60) % 60:02d}:{int(at) % 60:02d},{int(at * 1000) % 1000:03d}"
    return f"{stamp} {level} [{service}.worker] {message}".encode()


def test_lines_of_a_service_with_an_exception_open():
    """An error line opens a block: the lines after it that may be its frames are parsed,
    the others still counted; both ways the same."""
    base = 1_795_514_400.0  # 2026-11-24 10:00:00
    rows: list[Row] = []
    for n in range(600):
        at = base + n * 0.1
        service = ("api", "web")[n % 2]
        if n % 50 == 10:
            rows.append((service.encode(), _text(service, at, "ERROR", "charge failed"), int(at * 1000)))
        elif n % 50 in (12, 14):
            rows.append((service.encode(), b"    charge = pay(order)", int(at * 1000)))  # a source line of a frame
        else:
            rows.append((service.encode(), _text(service, at), int(at * 1000)))
    partials = _all_three(rows, [100, 101, 350])
    assert sum(w["errors"] for partial, *_ in partials if partial for s in partial["windows"].values()
               for w in s.values()) == 12


def test_the_line_after_an_announcing_line_is_parsed_whatever_it_looks_like():
    """A block whose last line announces the next ("... nested exception is:", Spring)
    takes that next line whatever it is ("Out of Memory" has nothing of a frame): the
    compiled count must leave it to the parse, as the loop does, and the error names it."""
    base = 1_795_514_400.0
    rows: list[Row] = []
    for n in range(700):  # the last block, 32 s in, idle long enough to be closed by the end
        at = base + n * 0.1
        service = ("api", "web")[n % 2]
        if n % 100 == 20 and n < 400:
            message = "charge failed; nested exception is:"
            rows.append((service.encode(), _text(service, at, "ERROR", message), int(at * 1000)))
        elif n % 100 == 22 and n < 400:
            rows.append((service.encode(), b"Out of Memory", int(at * 1000)))
        else:
            rows.append((service.encode(), _text(service, at), int(at * 1000)))
    partials = _all_three(rows, [150, 151, 300, 500])
    windows = [w for partial, *_ in partials if partial for s in partial["windows"].values() for w in s.values()]
    assert sum(w["errors"] for w in windows) == 4
    samples = [sample for w in windows for f in w["findings"] for sample in f["samples"]]
    assert len(samples) == 3 and all(sample.endswith("\nOut of Memory") for sample in samples), samples  # 3 kept


def test_calibration_rounds_and_keys_that_name_no_service():
    """One record in CALIBRATE_EVERY of a service is parsed to refresh its lag (any parsed
    line restarts the count): first one service alone for three rounds, then keys that
    name no service (None, empty, a host) among its lines."""
    base = 1_795_514_400.0
    rows: list[Row] = []
    for n in range(3 * CALIBRATE_EVERY + 17):
        at = base + n * 0.05
        rows.append((b"api", _text("api", at), int((at - n * 0.001) * 1000)))  # shipping delay grows: the lag moves
    for n in range(200):
        at = base + 60 + n * 0.05
        key = (b"api", None, b"host-7", b"")[n % 4] if n % 3 == 0 else b"api"
        rows.append((key, _text("api", at), int(at * 1000)))
    rows.append((b"api", None, int(base * 1000)))  # a tombstone: dead-lettered
    cuts = [CALIBRATE_EVERY - 1, CALIBRATE_EVERY, 2 * CALIBRATE_EVERY + 1, 3 * CALIBRATE_EVERY + 17]
    compiled = _all_three(rows, cuts, flush_every=1)
    # The first line is parsed (its service's lag is not known yet), then one in every
    # CALIBRATE_EVERY: after line k (from 0), k % CALIBRATE_EVERY lines since the last.
    assert [since for _partial, _letters, since, _lag in compiled[:4]] == [(cut - 1) % CALIBRATE_EVERY
                                                                          for cut in cuts]


def test_a_line_exactly_at_its_window_s_lateness_edge_is_late():
    """Window 10:00 is open until 10:01:05 (60 s and 5 s of allowed lateness): once the
    watermark is exactly 10:01:05.000, lines of 10:00:40 are late; at 10:01:04.999 they
    are not."""
    base = 1_795_514_400.0  # 10:00:00; broker time equal to the lines' own (lag 0)

    def row(service: str, second: float) -> Row:
        return service.encode(), _text(service, base + second), int(round((base + second) * 1000))

    for edge, late in ((65.0, 2), (64.999, 0)):
        rows = [row("api", 30), row("web", 31), row("api", 32), row("web", edge), row("api", 40), row("api", 40.5)]
        partial = _all_three(rows, [])[-1][0]
        assert sum(w["late"] for w in partial["windows"]["api"].values()) == late, edge
        assert sum(w["lines"] for w in partial["windows"]["api"].values()) == 4


def test_a_late_line_counts_in_the_earliest_minute_still_open():
    """With the watermark at 10:01:03, 10:00 is still open (until 10:01:05): lines of
    09:59 are late and count there, not in 10:01."""
    base = 1_795_514_400.0

    def row(service: str, second: float) -> Row:
        return service.encode(), _text(service, base + second), int(round((base + second) * 1000))

    rows = [row("api", 30), row("web", 31), row("api", 32), row("api", 61), row("web", 63), row("api", -30),
            row("api", -29), row("api", -28)]
    partial = _all_three(rows, [])[-1][0]
    assert {start: (w["lines"], w["late"]) for start, w in partial["windows"]["api"].items()} == {
        str(int(base)): (5, 3), str(int(base) + 60): (1, 0)}


def test_a_service_going_back_and_forth_between_two_open_minutes():
    """Lines of one service alternating between 10:00 and 10:01 (both open): each is
    counted in its own minute, whichever way the loop goes through them."""
    base = 1_795_514_400.0
    rows: list[Row] = [(b"web", _text("web", base + 1), int((base + 1) * 1000))]
    for n in range(200):
        second = 30 + n * 0.1 if n % 2 else 61 + n * 0.01  # 10:00:30.. and 10:01:01..
        rows.append((b"api", _text("api", base + second), int(round((base + second) * 1000))))
    partial = _all_three(rows, [])[-1][0]
    assert {start: w["lines"] for start, w in partial["windows"]["api"].items()} == {
        str(int(base)): 100, str(int(base) + 60): 100}
    assert _counted_in_c(rows, []) > 150


# Records from a small palette, times that wander back and forth across minutes.
_SERVICES = ["api", "web", "db"]


def _palette(kind: int, service: str, at: float) -> bytes:
    return [
        _text(service, at),
        _text(service, at, "ERROR", "payment declined"),
        _text(service, at, "WARNING", "slow"),
        f'{{"timestamp": {at}, "level": "info", "service": "{service}", "path": "/users/7", "status": 200}}'.encode(),
        f'{{"timestamp": {at}, "level": "warning", "service": "{service}", "msg": "slow"}}'.encode(),
        f'10.0.0.1 - - [24/Nov/2026:10:00:{int(at) % 60:02d} +0000] "GET /a/{int(at)} HTTP/1.1" 200 1 "-" "-"'.encode(),
        b"    return driver.connect(dsn)",
        b"Traceback (most recent call last):",
        b"plain words without a time",
        # JSON warnings in the forms the counting loop reads and those it leaves to Python:
        # times as ISO text (with a zone, a fraction, none), an access-log time, a syslog
        # one (Python's), digits in a string, milliseconds, none, false; a request;
        # another service named, a padded name, pino's number, an escaped string
        f'{{"time": "{_iso(at)}", "level": "warning", "service": "{service}"}}'.encode(),
        f'{{"@timestamp": "{_iso(at)[:19]}+02:00", "level": "WARN", "service": "{service}"}}'.encode(),
        f'{{"ts": "{_iso(at)[:19]}", "severity": "warning", "service": " {service} "}}'.encode(),
        f'{{"time": "{_clf(at)}", "level": "warning", "service": "{service}"}}'.encode(),
        f'{{"time": "Nov 24 10:00:{int(at) % 60:02d}", "level": "warning", "service": "{service}"}}'.encode(),
        f'{{"time": "{at:.3f}", "level": "warning", "service": "{service}"}}'.encode(),
        f'{{"time": {int(at * 1000)}, "level": 40, "service": "{service}", "method": "POST", "path": "/o/{int(at)}",'
        f' "status": 409}}'.encode(),
        f'{{"level": "warning", "service": "{service}", "msg": "no time of its own"}}'.encode(),
        f'{{"time": false, "level": "warning", "service": "{service}"}}'.encode(),
        f'{{"time": {at}, "level": "warning", "service": "billing"}}'.encode(),
        f'{{"time": {at}, "level": "warning", "service": "{service}\\u0041"}}'.encode(),
        f'{{"time": {at}, "level": "warning", "msg": "names no service", "status": 503, "path": "/x"}}'.encode(),
    ][kind]


def _iso(at: float) -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _clf(at: float) -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


_event = st.tuples(st.integers(0, 20), st.sampled_from(_SERVICES), st.sampled_from([None, b"api", b"web", b"other"]),
                   st.floats(-130, 130, allow_nan=False), st.floats(-30, 30, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(events=st.lists(_event, min_size=1, max_size=400), cut_seed=st.integers(0, 2**32 - 1))
def test_random_records_count_the_same_both_ways(events, cut_seed):
    base = 1_795_514_400.0
    rows: list[Row] = []
    clock = base
    for n, (kind, service, key, wander, broker_shift) in enumerate(events):
        clock += 0.2
        at = clock + wander  # the line's own time wanders; its broker time follows the clock
        rows.append((key if key != b"other" else service.encode(), _palette(kind, service, at),
                     int((clock + broker_shift) * 1000)))
    rng = random.Random(cut_seed)
    cuts = sorted(rng.sample(range(len(rows) + 1), min(len(rows), rng.randint(0, 6))))
    _all_three(rows, cuts)


def _warnings_day(seed: int, delay: float, wander: float, future_every: int = 0) -> list[Row]:
    """Info lines and JSON warnings in every form of `_palette` from three services, their
    own times `wander` seconds around a clock, stored `delay` seconds later; every
    `future_every`-th warning written ten minutes ahead of its broker time (not trusted)."""
    base = 1_795_514_400.0
    rnd = random.Random(seed)
    rows: list[Row] = []
    clock = base
    for n in range(3_000):
        clock += 0.2
        service = rnd.choice(_SERVICES)
        # A warning naming another service (or a name it cannot read) under a key makes
        # the key name no service from then on: those come last.
        kind = rnd.choice([0, 0, 0, 3, 4, *range(9, 18), 20] if n < 2_900 else [18, 19])
        at = clock + rnd.uniform(-wander, wander)
        if future_every and n % future_every == 0:
            at = clock + delay + 600
        rows.append((service.encode(), _palette(kind, service, at), int((clock + delay) * 1000)))
    return rows


@pytest.mark.parametrize("delay, wander, future_every", [(0.0, 3.0, 0), (20.0, 3.0, 0), (0.0, 40.0, 7),
                                                         (-8.0, 1.0, 50), (3600.0, 2.0, 0)])
def test_json_warnings_counted_in_the_loop(delay, wander, future_every):
    """The counting loop counts the JSON warnings `_warning` counts, as it counts them:
    their own times when trusted (not more than max_future_skew_s ahead), the service's lag
    they set (kept under allowed_lateness_s as 0) and the lines after them placed by it,
    late ones in the earliest open minute, their requests' routes; those it cannot read
    (a syslog time, an escaped name) or must not count (another service, a 5xx) left to
    the loop. Shipping delays of 0, 20 s, -8 s (clock skew) and an hour (a backlog)."""
    rows = _warnings_day(7, delay, wander, future_every)
    compiled = _all_three(rows, [500, 501, 1_700, 2_999], flush_every=2)
    warnings = sum(w["warnings"] for partial, *_ in compiled if partial for s in partial["windows"].values()
                   for w in s.values())
    assert warnings > 0.5 * 3_000 * 12 / 18
    routes = [r for partial, *_ in compiled if partial for s in partial["windows"].values() for w in s.values()
              for r in w.get("routes", {})]
    assert "POST /o/{id}" in routes
    # and most went the compiled way: Python's `_warning` saw few of them
    calls = []
    real = PartitionExtractor._warning
    PartitionExtractor._warning = lambda self, *args: calls.append(args) or real(self, *args)
    try:
        _run(rows, [500, 501, 1_700, 2_999], flush_every=2)
    finally:
        PartitionExtractor._warning = real
    assert len(calls) < 0.3 * warnings


# --- the routes' tally ------------------------------------------------------------------

def _tally_both(services: list[str], starts: list[int], values: list[bytes]) -> dict:
    from agents.extract.findings import normalise_endpoint
    from agents.extract.formats import request_of_record

    compiled = partition._compiled_tally(services, starts, values, request_of_record, normalise_endpoint)
    python = partition._tally_requests(services, starts, values)
    assert compiled == python
    assert list(compiled) == list(python)  # windows in the same order,
    assert all(list(compiled[key]) == list(python[key]) for key in python)  # and their routes
    return compiled


def test_the_tally_of_the_benchmark_requests():
    values = [value for _key, value in loadgen.mixed_lines(20_000)]
    services = [f"svc-{i % 3}" for i in range(len(values))]
    starts = [1_795_514_400 + 60 * (i // 7_000) for i in range(len(values))]
    tally = _tally_both(services, starts, values)
    requests = sum(n for window in tally.values() for n, _failed in window.values())
    assert requests > 0.6 * len(values)  # two thirds of loadgen's lines are requests
    assert {route for window in tally.values() for route in window} >= {"GET /api/users/{id}", "GET /healthz"}


_REQUEST_LINES = [
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET /api/cart/29985?x=1 HTTP/1.1" 304 5300 "-" "curl/8.5.0"',
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "POST /v1/orders/77 HTTP/1.1" 503 1 "-" "-"',
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET http://example.com/p/12345 HTTP/1.1" 200 1 "-" "-"',
    b'nginx-1  | 10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET /a/1 HTTP/1.1" 502 1 "-" "-"',
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "-" 400 0 "-" "-"',
    b'nginx-1  | 10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "-" 400 0 "-" "-"',  # read in Python: no request line
    b'{"level": "info", "status": 200, "path": "/users/42"}',
    b'{"level": "info", "status": 500, "method": "post", "uri": "/v1/orders/9"}',
    b'{"level": "info", "http": {"request": {"method": "GET"}}, "url.path": "/x/1", "statusCode": 201}',
    rb'{"level": "info", "status": 200, "path": "/caf\u00e9/1"}',
    rb'{"level": "info", "status": 200, "path": "/t\tab"}',
    b'{"status": 200, "path": "/no/level/1"}',
    b'{"level": "info", "path": "/usr/lib/python3/glogging.py"}',
    b'method=GET path=/logfmt/5 status=404',
    b'plain words',
    b'\xff\xfe "GET /a HTTP/1.1" 200 ',
]


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(st.tuples(st.sampled_from(_REQUEST_LINES), st.sampled_from(["api", "web"]),
                                st.sampled_from([0, 60, 120])), max_size=30))
def test_the_tally_of_awkward_requests_in_any_order(lines):
    _tally_both([service for _v, service, _s in lines], [1_795_514_400 + s for _v, _svc, s in lines],
                [value for value, _svc, _s in lines])


def test_pure_python_switches_off_every_compiled_function_of_the_core():
    """The benchmarks' "before" and the tests' reference run with nothing compiled: every
    module attribute holding a compiled function is among those `pure_python` clears."""
    import importlib
    import pkgutil

    import agents
    import agents.extract
    from agents.extract import _scan

    compiled = {name for name in dir(_scan) if callable(getattr(_scan, name))}
    holders = []
    names = [f"agents.extract.{m.name}" for m in pkgutil.iter_modules(agents.extract.__path__) if m.name != "_scan"]
    names += [f"agents.{m.name}" for m in pkgutil.iter_modules(agents.__path__) if not m.ispkg]  # redaction's plan
    for name in names:
        module = importlib.import_module(name)
        holders += [(module, name) for name, value in vars(module).items()
                    if callable(value) and getattr(value, "__name__", None) in compiled
                    and getattr(value, "__module__", None) == "agents.extract._scan"]
    assert len(holders) >= 9 and any(m.__name__ == "agents.redact" for m, _name in holders)
    with pure_python():
        assert [(m.__name__, name) for m, name in holders if getattr(m, name) is not None] == []
    assert all(getattr(m, name) is not None for m, name in holders)


def _lines_of_the_test_data() -> list[bytes]:
    root = Path(__file__).resolve().parents[2] / "data"
    lines: list[bytes] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix not in (".gz", ".zip", ".png"):
            lines += path.read_bytes().splitlines()
    return lines


_CONTINUATION_FRAGMENTS = [b" ", b"\t", b"\n", b"#1", b"at ", b"Caused by", b"goroutine ", b"created by ", b"[signal ",
                           b"Traceback", b"During handling", b"The above", b"Stack trace", b"--- ", b"{main}", b"... ",
                           b"Unhandled", b"f(x)", b"a.b$c/d*e[f]-g(", b")", b"(", b"web-1  | ", b"<13>1 ",
                           b"2024-05-01T10:00:00Z ", b"stderr F ", b"Mar  1 10:00:00 ", b"host app[12]: ", b'"log":',
                           b'"message":', b'"msg":', b'"MESSAGE":', b' "', b"\\t", b"\\n", b"x", b"9", b"|", b":",
                           b"\x00", b"\xc3\xa9"]


@settings(max_examples=2000, deadline=None)
@given(value=st.lists(st.sampled_from(_CONTINUATION_FRAGMENTS), max_size=8).map(b"".join))
def test_the_compiled_look_before_the_continuation_pattern_never_skips_a_match(value):
    """count_lines asks the continuation pattern only where `_scan.may_continue` says it
    can match: it must never say no to a line the pattern matches."""
    from agents.extract import _scan
    from agents.extract.prefilter import continuation

    if continuation(value) is not None:
        assert _scan.may_continue(value), value


def test_the_compiled_look_skips_ordinary_lines_and_no_match_of_the_test_data():
    from agents.extract import _scan
    from agents.extract.prefilter import continuation

    lines = _lines_of_the_test_data() + [value for _key, value in loadgen.mixed_lines(20_000)]
    assert len(lines) > 50_000
    missed = [line for line in lines if continuation(line) is not None and not _scan.may_continue(line)]
    assert missed == []
    ordinary = [value for _key, value in loadgen.mixed_lines(20_000)
                if continuation(value) is None]
    skipped = sum(not _scan.may_continue(value) for value in ordinary)
    assert skipped / len(ordinary) > 0.6  # the point of it: most lines are not asked
