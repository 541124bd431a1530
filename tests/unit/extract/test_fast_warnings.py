"""JSON warnings counted without a whole parse (`PartitionExtractor._warning`) give the
partials the whole parse gives (`fast_warnings = False`, the reference): the same lines,
warnings, late lines, routes and findings in the same windows, and the same findings
and dead letters around them. Compared on the benchmarks' generated days and on
streams written to hit each condition of the shortcut. No broker."""

from __future__ import annotations

import orjson
import pytest

from agents.extract.config import ExtractConfig
from agents.extract.partition import PartitionExtractor
from ops.bench import extract_core, loadgen
from tests.unit.extract.conftest import T0, partials_of


def _partials(records: list[tuple[bytes | None, bytes | None, float]], fast: bool, cfg: ExtractConfig | None = None,
              batch: int = 500, flush_every: int = 5000) -> list[tuple[dict, list]]:
    return partials_of(records, cfg, batch, flush_every, fast_warnings=fast)


def _warnings(partials: list[tuple[dict, list]]) -> int:
    return sum(w["warnings"] for partial, _ in partials if partial for s in partial["windows"].values()
               for w in s.values())


def test_the_same_partials_on_the_generated_days():
    days = [(key, value, 1_790_000_000 + i * 0.001) for i, (key, value) in enumerate(loadgen.mixed_lines(30_000))]
    fast, whole = _partials(days, True), _partials(days, False)
    assert fast == whole
    # loadgen: a quarter of the JSON records (a third of the lines) are warnings, minus the errors
    assert 30_000 * (1 / 3) * 0.25 * 0.9 < _warnings(whole) < 30_000 * (1 / 3) * 0.25 * 1.1


def test_the_same_partials_on_the_extraction_core_lines():
    lines = extract_core.generate(20_000)
    assert _partials(lines, True) == _partials(lines, False)


def _json(**fields) -> bytes:
    return orjson.dumps(fields)


@pytest.mark.parametrize("batch", [1, 7, 500])
def test_the_same_partials_where_the_shortcut_must_step_aside(batch):
    api, web = b"api", b"web"
    records = [
        # a backlog shipped an hour late, then half an hour late: the warning's own time
        # moves the service's lag, and the counted lines after it follow
        (b"batch", _json(time=T0 - 3600, level="info", service="batch", msg="job started"), T0),
        (b"batch", _json(time=T0 - 1800, level="warning", service="batch", msg="job slow"), T0 + 1),
        *[(b"batch", _json(level="info", service="batch", msg="step done"), T0 + 2) for _ in range(5)],
        (api, _json(time=T0, level="info", service="api", msg="first line: the key is learned"), T0),
        (web, _json(time=T0, level="info", service="web", msg="first"), T0),
        (api, _json(time=T0 + 1, level="warning", service="api", msg="slow query", path="/v1/a/17",
                    method="GET", status=200), T0 + 1),
        (api, _json(time=T0 + 2, level="WARN", service="api", msg="no status"), T0 + 2),
        (api, _json(time=T0 + 3, level=40, service="api", msg="pino's warning"), T0 + 3),
        (api, _json(time=T0 + 4, level="warning", service="api", msg="a 503 is an error", status=503,
                    path="/v1/b"), T0 + 4),
        (api, _json(level="warning", service="api", msg="no time of its own"), T0 + 6),
        (api, _json(time=T0 - 600, level="warning", service="api", msg="ten minutes late"), T0 + 7),
        (api, _json(time=T0 + 900, level="warning", service="api", msg="from the future"), T0 + 8),
        (api, _json(time=T0 + 9, level="error", service="api", msg="payment failed"), T0 + 9),
        (api, _json(time=T0 + 10, level="warning", service="api", msg="while the error waits for its trace"), T0 + 10),
        (api, b"Traceback (most recent call last):", T0 + 10.5),
        (api, b'  File "/app/pay.py", line 3, in pay', T0 + 10.6),
        (api, b"ValueError: bad card", T0 + 10.7),
        (api, _json(time=T0 + 11, level="warning", service="api", msg="after the trace"), T0 + 11),
        # a text error opens a block; warnings that may name a stream of their own take
        # the whole parse (they leave it open: its traceback still joins it), one that
        # names none closes it
        (api, b"2023-11-14 22:14:11,500 ERROR [api.views] refund failed", T0 + 11.5),
        (api, _json(time=T0 + 11.55, level="warning", service="api", msg="on a host", host="web-1"), T0 + 11.55),
        (api, b"Traceback (most recent call last):", T0 + 11.56),
        (api, _json(time=T0 + 11.57, level="warning", service="api", msg="pod",
                    kubernetes={"pod_name": "api-7f9c", "container_name": "api"}), T0 + 11.57),
        (api, b'  File "/app/refund.py", line 9, in refund', T0 + 11.58),
        (api, b"KeyError: 'order'", T0 + 11.59),
        (api, _json(time=T0 + 11.8, level="warning", service="api", msg="closes the refund's block"), T0 + 11.8),
        (api, b"Traceback (most recent call last):", T0 + 11.9),  # no block to join now: its own
        (api, b'{"time": 1, "level": "warning", "msg": "cut', T0 + 12),
        (api, b'{"tick": ' + str(T0 + 13).encode() + b"}", T0 + 13),
        (api, None, T0 + 14),
        (web, _json(time=T0 + 15, level="warning", service="web", msg="x" * 3000), T0 + 15),
        (web, _json(time=T0 + 16, severity="WARNING", service="web", msg="severity, not level",
                    request={"method": "POST", "url": "/v1/c/99"}, status_code=201), T0 + 16),
        (web, b"2026-01-01 10:00:00 WARNING text warnings take the whole parse", T0 + 17),
        (web, _json(time=T0 + 70, level="warning", service="web", msg="next minute"), T0 + 70),
        # last: the key is then taken for no service's name, and every record under it parsed
        (api, _json(time=T0 + 71, level="warning", service="billing", msg="another service under api's key"), T0 + 71),
    ]
    cfg = ExtractConfig(max_line_bytes=2048)
    fast, whole = _partials(records, True, cfg, batch=batch), _partials(records, False, cfg, batch=batch)
    assert fast == whole
    partial = whole[-1][0]
    assert partial["windows"]["billing"]  # the record's own service, not its key's
    assert sorted(partial["windows"]["batch"]) == [str(int(T0 - 3600)), str(int(T0 - 1800))]
    assert [d["reason"] for d in whole[-1][1]] == ["invalid_json", "empty", "too_large"]


def test_a_steady_shipping_delay_of_two_seconds_is_taken_off_as_the_whole_parse_takes_it():
    """Lines stored two seconds after they were written: the warnings' own times set the
    service's lag (-2 s) exactly as a parsed line's do, so the lines counted after them
    fall in the minute they were written in (all 600 in one minute), not 18 of them in
    the next (as when a lag under the allowed lateness was taken for none)."""
    records = []
    for n in range(600):
        own = T0 + n * 0.1
        level = "warning" if n % 10 == 0 else "info"
        records.append((b"api", _json(time=own, level=level, service="api", msg="m"), own + 2.0))
    fast, whole = _partials(records, True), _partials(records, False)
    assert fast == whole
    assert {start: w["lines"] for partial, _ in whole if partial for start, w in partial["windows"]["api"].items()} \
        == {str(int(T0)): 600}


def test_the_shortcut_is_taken():
    """Not only equal: the warnings of a generated day go the short way (in `_warning`,
    or where `_scan.c` was built, in its counting loop), not through the whole parse."""
    days = [(key, value, 1_790_000_000 + i * 0.001) for i, (key, value) in enumerate(loadgen.mixed_lines(10_000))]
    parsed = []
    extractor = PartitionExtractor(0, ExtractConfig())
    original = extractor._parse
    extractor._parse = lambda offset, key, value, ts: parsed.append(value) or original(offset, key, value, ts)
    extractor.feed_records([extract_core._Fetched(i, k, v, int(at * 1000)) for i, (k, v, at) in enumerate(days)])
    partial, _dead = extractor.flush()
    counted = sum(w["warnings"] for s in partial.windows.values() for w in s.values())
    parsed_warnings = sum(1 for v in parsed if v[:1] == b"{" and b'"level": "warning"' in v)
    # loadgen: a quarter of the JSON records (a third of the lines) are warnings, minus the errors
    assert counted > 10_000 * (1 / 3) * 0.25 * 0.9
    # parsed whole: the first line of each of the 20 services, and those of a service
    # with an exception block open (a few in a hundred)
    assert parsed_warnings < 0.1 * counted
