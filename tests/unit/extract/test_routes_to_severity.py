"""From nginx's access log to the page: the requests per route that extraction counts
decide the incident's severity (issue #13), with no hand-built `routes` in between.

Lines as nginx writes them (combined format) go through the extraction core across two
partitions (`Cluster`: batch extraction, partials, window books), the closed window goes
to the incident reducer, and the first alert is read as on-call reads it. Expected
values are arithmetic over the planted lines and the documented defaults of
`[incidents.severity]` (ops/CONFIG.md): at least half of a write route's requests
failing is P1; a read route with 3 failures in 900 is P3.
"""

from __future__ import annotations

from agents.incidents.config import IncidentsConfig
from agents.incidents.lifecycle import apply, event_time
from schemas.records import OutboxMessage

from .conftest import T0
from .test_cross_partition import Cluster
from .test_routes import access


def _first_alert(plan: list[tuple[str, str, int, int]]) -> OutboxMessage:
    """`plan`: (method, path, status, how many), spread over two partitions in the minute at T0."""
    cluster = Cluster(partitions=2)
    sent = 0
    for method, path, status, count in plan:
        for _ in range(count):
            at = T0 + 1 + sent * 0.05  # at most 1,000 lines: all in the minute at T0
            cluster.produce(sent % 2, b"shop", access(at, method, path, status), at)
            sent += 1
    cluster.step_all()
    cluster.tick(T0 + 130)
    cluster.step_all()
    window = next(s for s in cluster.summaries if s.service == "shop" and s.window_start == T0)
    _state, effects = apply(None, window, event_time(window), IncidentsConfig())
    alerts = [e.record for e in effects if isinstance(getattr(e, "record", None), OutboxMessage)
              and e.record.kind == "alert"]
    assert len(alerts) == 1, [getattr(e, "record", e) for e in effects]
    return alerts[0]


def test_most_order_writes_failing_in_the_access_log_pages_p1_and_says_how_many():
    alert = _first_alert([("POST", "/v1/orders", 201, 10), ("POST", "/v1/orders", 503, 40),
                          ("GET", "/v1/orders/17", 200, 200)])
    assert alert.severity == "P1"
    text = f"{alert.title}\n{alert.body}\n{alert.fields}"
    assert "40 of 50 requests to POST /v1/orders failed in one minute (80%, write path)" in text


def test_three_failures_in_nine_hundred_reads_page_as_p3():
    # 3 of 900 is 0.33 %: under the 1 % at which users notice (endpoint_degraded_share).
    alert = _first_alert([("GET", "/v1/catalog/17", 200, 897), ("GET", "/v1/catalog/18", 502, 3)])
    assert alert.severity == "P3"
