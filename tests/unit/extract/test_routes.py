"""Requests per route in a window, from access logs (`WindowSummary.routes`).

Every access-log line (nginx/Apache combined format, a JSON record with a method or path
and a status) counts one request for its route, normalised like `Finding.endpoint`
("GET /v1/orders/{id}"), `failed` when its status is 5xx. Most of those lines are 2xx
and are only counted, never parsed: these scenarios check that their routes are counted
all the same, summed across source partitions and once per redelivered partial. The
expected numbers are arithmetic over the lines planted.
"""

from __future__ import annotations

import json
import time

from agents.extract.config import ExtractConfig
from agents.extract.windows import apply_partial
from schemas.records import PartialAggregate, RouteCount

from .conftest import T0
from .test_cross_partition import Cluster


def access(at: float, method: str, path: str, status: int) -> bytes:
    """One nginx "combined" line, as nginx writes it."""
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(at))
    return (f'203.0.113.7 - - [{stamp}] "{method} {path} HTTP/1.1" {status} 512 "-" '
            f'"Mozilla/5.0 (X11; Linux x86_64)"').encode()


def json_access(at: float, method: str, path: str, status: int) -> bytes:
    return json.dumps({"time": at, "level": "info", "msg": "request completed", "method": method, "path": path,
                       "status": status, "duration_ms": 12}).encode()


# (partition, method, path, status, how many), all in the minute starting at T0
PLANTED = [
    (0, "GET", "/v1/orders/17", 200, 4),
    (0, "GET", "/v1/orders/42", 503, 1),
    (0, "POST", "/v1/orders", 201, 2),
    (0, "GET", "/healthz", 200, 3),
    (1, "GET", "/v1/orders/99?expand=items", 200, 2),
    (1, "GET", "/v1/orders/5", 502, 2),
    (1, "GET", "/healthz", 200, 1),
]
EXPECTED = {
    "GET /v1/orders/{id}": RouteCount(requests=4 + 1 + 2 + 2, failed=1 + 2),
    "POST /v1/orders": RouteCount(requests=2, failed=0),
    "GET /healthz": RouteCount(requests=3 + 1, failed=0),
}


def plant(cluster: Cluster, planted=PLANTED) -> int:
    sent = 0
    for partition, method, path, status, count in planted:
        for _ in range(count):
            at = T0 + 1 + sent * 0.5
            cluster.produce(partition, b"api", access(at, method, path, status), at)
            sent += 1
    return sent


def closed_minute(cluster: Cluster):
    cluster.tick(T0 + 130)
    cluster.step_all()
    return next(s for s in cluster.summaries if s.service == "api" and s.window_start == T0)


def test_a_service_split_over_two_partitions_counts_each_route_once_in_total():
    cluster = Cluster(partitions=2)
    sent = plant(cluster)
    cluster.step_all()
    summary = closed_minute(cluster)
    assert summary.routes == EXPECTED
    assert summary.lines == sent == 15


def test_a_redelivered_partial_counts_its_requests_once():
    cluster = Cluster(partitions=2)
    plant(cluster)
    cluster.step_all()
    # The batch stage crashed after publishing and before committing: the same partials
    # arrive again at the books.
    for book, value in list(cluster.published):
        assert apply_partial(cluster.books[book], PartialAggregate.model_validate_json(value), cluster.cfg) == []
    summary = closed_minute(cluster)
    assert summary.routes == EXPECTED
    assert summary.lines == 15


def test_json_access_records_count_and_other_records_do_not():
    cluster = Cluster(partitions=1)
    cart = "/v1/carts/8f14e45f-ceea-467f-a0e8-4b3c7e2a9d11"
    lines = [json_access(T0 + 1, "PUT", cart, 204), json_access(T0 + 2, "put", cart, 200),
             json_access(T0 + 3, "PUT", cart, 500),
             # no method and no path: a status alone is not a request to a route
             json.dumps({"time": T0 + 4, "level": "info", "msg": "health ok", "status": 200}).encode(),
             # a request named in prose is not an access record
             json.dumps({"time": T0 + 5, "level": "info", "msg": "GET /v1/carts/1 took 5 ms"}).encode()]
    for index, line in enumerate(lines):
        cluster.produce(0, b"api", line, T0 + 1 + index)
    cluster.step_all()
    summary = closed_minute(cluster)
    assert summary.routes == {"PUT /v1/carts/{id}": RouteCount(requests=3, failed=1)}
    assert summary.lines == 5


def test_only_the_busiest_routes_are_kept():
    cluster = Cluster(partitions=2, cfg=ExtractConfig(max_routes_per_window=2))
    plant(cluster)
    cluster.step_all()
    summary = closed_minute(cluster)
    # 9 and 4 requests are kept; "POST /v1/orders" (2) is left out, its lines still counted.
    assert summary.routes == {k: EXPECTED[k] for k in ("GET /v1/orders/{id}", "GET /healthz")}
    assert summary.lines == 15


def test_routes_land_in_the_minute_of_their_lines():
    cluster = Cluster(partitions=1)
    for index in range(3):
        cluster.produce(0, b"api", access(T0 + 10 + index, "GET", "/healthz", 200), T0 + 10 + index)
    for index in range(2):
        at = T0 + 70 + index
        cluster.produce(0, b"api", access(at, "GET", "/healthz", 503), at)
    cluster.tick(T0 + 200)
    cluster.step_all()
    by_minute = {s.window_start: s.routes for s in cluster.summaries if s.service == "api"}
    assert by_minute[T0] == {"GET /healthz": RouteCount(requests=3, failed=0)}
    assert by_minute[T0 + 60] == {"GET /healthz": RouteCount(requests=2, failed=2)}


def test_a_busy_minute_counts_every_request(monkeypatch):
    # 600 lines in one fetched batch: long runs of lines that are only counted, counted
    # per batch; none of the 2xx lines may be parsed for its route to count.
    from agents.extract.partition import PartitionExtractor
    parsed = []
    real_parse = PartitionExtractor._parse
    monkeypatch.setattr(PartitionExtractor, "_parse", lambda self, *a: (parsed.append(a[2]), real_parse(self, *a)))
    cluster = Cluster(partitions=1)
    for index in range(600):
        at = T0 + 1 + index * 0.05
        status = 502 if index % 50 == 0 else 200
        cluster.produce(0, b"api", access(at, "GET", f"/v1/orders/{index}" if index % 3 else "/healthz", status), at)
    cluster.step_all()
    summary = closed_minute(cluster)
    # index % 3 == 0: /healthz (200 lines), the rest orders (400); 5xx every 50th: 12
    # lines, of which index % 3 == 0 at 0, 150, 300, 450 (4 on /healthz).
    assert summary.routes == {"GET /v1/orders/{id}": RouteCount(requests=400, failed=8),
                              "GET /healthz": RouteCount(requests=200, failed=4)}
    assert summary.lines == 600
    assert sum(b'" 200 ' in value for value in parsed) <= 600 // 256 + 1  # the first line, calibration


def test_a_real_nginx_log_counts_every_access_line_and_no_error_line():
    # Captured from `docker compose logs` of FixMyStreet while its app was down: access
    # lines (502) and nginx's own error lines, which name a request but are not one.
    from collections import Counter

    from .conftest import DATA
    lines = (DATA / "nginx_captured" / "fixmystreet_docker_compose_nginx_502_excerpt.log").read_text(
        encoding="utf-8").splitlines()
    expected_requests: Counter = Counter()
    expected_failed: Counter = Counter()
    for line in lines:  # the combined format: [time] "METHOD PATH PROTOCOL" STATUS ...
        if '] "' not in line:
            continue
        request, rest = line.split('] "', 1)[1].split('" ', 1)
        method, target, _protocol = request.split(" ")
        route = f"{method} {target.split('?')[0]}"  # a route has no query string
        expected_requests[route] += 1
        expected_failed[route] += rest.split(" ")[0].startswith("5")
    assert sum(expected_requests.values()) == 7 and sum(expected_failed.values()) == 3  # the file, read by eye
    cluster = Cluster(partitions=2)
    for index, line in enumerate(lines):
        cluster.produce(index % 2, b"nginx", line.encode(), 1_728_200_527.0 + index)
    cluster.tick(1_728_200_527.0 + 600)
    cluster.step_all()
    requests: Counter = Counter()
    failed: Counter = Counter()
    for summary in cluster.summaries:
        for route, counts in summary.routes.items():
            requests[route] += counts.requests
            failed[route] += counts.failed
    assert requests == expected_requests
    assert failed == expected_failed
