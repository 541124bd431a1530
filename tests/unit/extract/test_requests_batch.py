"""The batch readers of requests give exactly what the per-line reference functions give.

`requests_of_records` (routes of the lines that are only counted) and
`normalise_endpoints` exist for speed; `request_of_record` and `normalise_endpoint` stay
the reference. Every line of every real sample the project keeps (access logs, JSON
application logs, syslog, traces, the loghub sets), and the awkward forms a fast path
could get wrong, must come out the same both ways.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from agents.extract.findings import normalise_endpoint, normalise_endpoints
from agents.extract.formats import request_of_record, requests_of_records
from ops.bench.loadgen import mixed_lines

DATA = Path(__file__).resolve().parents[2] / "data"

# Forms a fast path could read differently from the reference.
AWKWARD = [
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET /api/cart/29985?x=1 HTTP/1.1" 304 5300 "-" "curl/8.5.0"',
    b'"quoted client" 10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET /a HTTP/1.1" 200 1 "-" "-"',
    b'my host - - [24/Nov/2026:10:00:02 +0000] "POST /v1/orders HTTP/1.1" 503 1 "-" "-"',  # a space in the client
    b'[::1] - - [24/Nov/2026:10:00:02 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "-"',  # a bracket in it
    b'10.0.0.1 \x1c - [24/Nov/2026:10:00:02 +0000] "GET /a HTTP/1.1" 200 1 "-" "-"',  # a separator text reads as space
    b'nginx-1  | 10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET /a/1 HTTP/1.1" 502 1 "-" "-"',  # compose prefix
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET /a/1 HTTP/1.1" 200 \r\n',
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET /a/1 HTTP/1.1" 200\r\n',  # no space after the status
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "-" 400 0 "-" "-"',  # no request line
    b'a\nb - - [24/Nov/2026:10:00:02 +0000] "GET /a HTTP/1.1" 200 1 "-" "-"',
    b'10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] "GET http://example.com/p/12345 HTTP/1.1" 200 1 "-" "-"',
    b'{"level": "info", "status": 200, "path": "/users/42"}',
    b'{"level": "info", "status": "", "status_code": 500, "method": "post", "uri": "/v1/orders/9"}',
    b'{"level": "info", "http": {"request": {"method": "GET"}}, "url.path": "/x/1", "statusCode": 201}',
    b'{"level": "info", "http.status_code": "404", "request_uri": "/missing"}',
    b'{"level": "info", "path": "/usr/lib/python3/glogging.py"}',  # a file path, not a request
    b'{"level": "info", "status": true, "path": "/a"}',
    b'{"status": 200, "path": "/no/level/1"}',  # no level: read as a wrapped line
    b'{"log": "10.0.0.1 - - [24/Nov/2026:10:00:02 +0000] \\"GET /w/7 HTTP/1.1\\" 500 1 \\"-\\" \\"-\\""}',
    b'{"level": "info", "status": 200, "path": "/nul\\u0000/1"}',
    b'{"level": "info", "status": 200, "path": "/t?q=1#frag", "method": "get"}',
    b'[1, 2, 3]',
    b'{"level": "info", "status": 200,',
    b'\xff\xfe not utf-8 "GET /a HTTP/1.1" 200 ',
    b'{"level": "warn", "res": {"statusCode": 502}, "req": {"method": "PUT", "url": "/items/abc123def456"}}',
    b'',
]


def _sample_lines() -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted(DATA.rglob("*")):
        if path.is_file() and path.suffix not in {".json", ".md", ".toml", ".yaml", ".yml", ".py", ".png"}:
            lines += path.read_bytes().splitlines()
    return lines


def test_every_sample_line_reads_the_same_as_the_reference():
    values = _sample_lines() + AWKWARD + [line for _key, line in mixed_lines(3000)]
    assert len(values) > 10_000  # the samples are there
    want = [request_of_record(value) for value in values]
    assert sum(1 for _m, _p, status in want if status) > 1_000  # and many of them are requests
    assert requests_of_records(values) == want
    # One at a time too: the record shapes remembered from a batch change nothing.
    assert [requests_of_records([value])[0] for value in values[:2000]] == want[:2000]


def test_the_awkward_forms_read_the_same_as_the_reference():
    assert requests_of_records(AWKWARD) == [request_of_record(value) for value in AWKWARD]
    # what the reference says about three of them, from the lines themselves
    got = dict(zip(AWKWARD, requests_of_records(AWKWARD)))
    assert got[AWKWARD[0]] == ("GET", "/api/cart/29985?x=1", 304)
    assert got[AWKWARD[12]] == ("POST", "/v1/orders/9", 500)
    assert got[AWKWARD[15]] == ("", "", 0)  # python-json-logger's file path is no request


def test_routes_normalise_the_same_as_the_reference():
    values = _sample_lines() + AWKWARD + [line for _key, line in mixed_lines(3000)]
    # The batch form proper (a scheme or a NUL anywhere sends a batch to the reference).
    pairs = [(m, p) for m, p, status in (request_of_record(v) for v in values)
             if status and "://" not in p and "\x00" not in p]
    pairs += [("GET", ""), ("", "/x/1"), ("get", "/a//b/12"),
              ("GET", "/f#a?b"), ("DELETE", "/users/550e8400-e29b-41d4-a716-446655440000"),
              ("GET", "/tokens/abcdefghijklmnopqrstuvwxyz"), ("PATCH", "/v1/a1b2/c")]
    assert len(pairs) > 500
    want = [normalise_endpoint(method, target) for method, target in pairs]
    assert normalise_endpoints(pairs) == want
    # The forms that take the reference path for the whole batch: a NUL, a scheme.
    for odd in [("GET", "/nul\x00/1"), ("POST", "http://h.example/api/v2/9f8e7d6c5b4a3921"),
                ("GET", "/q?next=http://x/1")]:
        assert normalise_endpoints([*pairs[:50], odd]) == [*want[:50], normalise_endpoint(*odd)]
    assert normalise_endpoints([]) == []
    # from the rule itself: ids, hashes and tokens become {id}, the query goes
    assert normalise_endpoints([("get", "/users/42/orders/7?x=1")]) == ["GET /users/{id}/orders/{id}"]


def test_json_records_in_the_samples_are_covered():
    """The JSON sample files hold requests: the shape-narrowed lookup is exercised on real records."""
    json_lines = [v for v in _sample_lines() if v[:1] == b"{"]
    decoded = [orjson.loads(v) for v in json_lines if v.rstrip().endswith(b"}")]
    assert len(decoded) > 50
    assert requests_of_records(json_lines) == [request_of_record(v) for v in json_lines]
