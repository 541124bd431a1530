"""From nginx's access log to the first alert: the line that says why it is this severe
comes right under the intro, not only in the timeline at the bottom.

The same path as `test_routes_to_severity` (combined-format lines through extraction on
two partitions, the closed window through the incident reducer). Expected numbers are
arithmetic over the planted lines; the threshold is the documented default of
`[incidents.severity]` (ops/CONFIG.md): half or more of a write route failing is P1.
"""

from __future__ import annotations

import json

from agents.incidents.config import IncidentsConfig
from agents.incidents.lifecycle import apply, event_time
from schemas.records import OutboxMessage

from .conftest import T0
from .test_cross_partition import Cluster
from .test_routes_to_severity import _first_alert


def _head(alert: OutboxMessage) -> list[str]:
    """What on-call sees first: the title, then the body's first lines."""
    return [alert.title, *alert.body.splitlines()][:3]


def test_the_first_alert_of_failing_order_writes_says_how_many_failed_in_its_first_lines():
    ok, failed = 10, 40
    alert = _first_alert([("POST", "/v1/orders", 201, ok), ("POST", "/v1/orders", 503, failed),
                          ("GET", "/v1/orders/17", 200, 200)])
    share = round(100 * failed / (ok + failed))  # 40 of 50: 80 %
    expected = f"Impact: {failed} of {ok + failed} requests to POST /v1/orders failed in one minute ({share}%, write path)."
    assert alert.severity == "P1"
    assert expected in _head(alert), alert.body
    for token in ("fp1:", "<*>"):
        assert token not in expected


def test_errors_without_access_log_counts_get_no_empty_impact_line():
    # An application's JSON lines, 12 errors in 200, no access log: no request counts and
    # far from a whole-service outage (half the lines), so no impact reason; the alert
    # still goes out, with no "Impact:" line at all.
    cluster = Cluster(partitions=2)
    for i in range(200):
        at = T0 + 1 + i * 0.25
        line = ({"time": at, "level": "error", "msg": "payment provider returned an invalid response",
                 "error": "ValueError"} if i % 16 == 0 and i < 192 else
                {"time": at, "level": "info", "msg": "order accepted"})
        cluster.produce(i % 2, b"shop", json.dumps(line).encode(), at)
    cluster.step_all()
    cluster.tick(T0 + 130)
    cluster.step_all()
    window = next(s for s in cluster.summaries if s.service == "shop" and s.window_start == T0)
    assert not window.routes and window.errors == 12
    _state, effects = apply(None, window, event_time(window), IncidentsConfig())
    alerts = [e.record for e in effects if isinstance(getattr(e, "record", None), OutboxMessage)
              and e.record.kind == "alert"]
    assert len(alerts) == 1
    assert "Impact" not in alerts[0].body
    assert alerts[0].body.splitlines()[1] == ""


def test_a_p3_page_says_why_it_is_no_worse():
    # 3 of 900 reads failing is P3 (under the 1 % of `endpoint_degraded_share`): the line
    # that tells on-call why it may wait is the same arithmetic, 3 / 900 = 0.33 %, said to
    # one decimal under 1 %.
    alert = _first_alert([("GET", "/v1/catalog/17", 200, 897), ("GET", "/v1/catalog/18", 502, 3)])
    assert alert.severity == "P3"
    assert f"Impact: 3 of 900 requests to GET /v1/catalog/{{id}} failed in one minute ({100 * 3 / 900:.1f}%, read path)." in _head(alert), alert.body
