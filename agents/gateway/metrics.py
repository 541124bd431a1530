"""Prometheus counters of the gateway: requests by driver and status, bytes, rejections.

The pure functions do not touch these; the web shell calls `record_outcome` once per
request with the outcome it finally answered (a 202 that became a 503 counts as 503),
and increments `ALERTS` / `LOG_LINES` itself once the broker acknowledged them. What
the web server refuses before any endpoint sees the request (a connection over the
per-client limit, a request that is not valid HTTP) is counted by `record_refusal`
under the endpoints `connection` and `http`.
Must never use a request-controlled value as a label except a known driver name.
"""

from __future__ import annotations

from prometheus_client import Counter

from agents.gateway.drivers import DRIVERS
from agents.gateway.outcomes import GatewayOutcome, LogIntakeOutcome

__all__ = ["ALERTS", "LOG_LINES", "PAYLOAD_BYTES", "REJECTED", "REQUESTS", "record_outcome", "record_refusal"]

REQUESTS = Counter("logwarden_gateway_requests", "Gateway requests by endpoint, driver and HTTP status",
                   ["endpoint", "driver", "status"])
PAYLOAD_BYTES = Counter("logwarden_gateway_payload_bytes", "Request body bytes received, by endpoint",
                        ["endpoint"])
REJECTED = Counter("logwarden_gateway_rejected", "Requests refused, by endpoint and reason",
                   ["endpoint", "reason"])
ALERTS = Counter("logwarden_gateway_alerts", "Alerts published, by driver and status",
                 ["driver", "status"])
LOG_LINES = Counter("logwarden_gateway_log_lines", "Log lines published from POST /logs")


def record_outcome(outcome: GatewayOutcome | LogIntakeOutcome, status: int | None = None) -> None:
    """Count one answered request; `status` is what was really answered (default outcome's)."""
    answered = outcome.status if status is None else status
    if isinstance(outcome, GatewayOutcome):
        endpoint = "webhook"
        driver = outcome.driver if outcome.driver in DRIVERS else "none"
    else:
        endpoint, driver = "logs", "none"
    REQUESTS.labels(endpoint, driver, str(answered)).inc()
    PAYLOAD_BYTES.labels(endpoint).inc(outcome.payload_bytes)
    if answered >= 400:
        reason = outcome.reason if answered == outcome.status else "broker_unavailable"
        REJECTED.labels(endpoint, reason).inc()


def record_refusal(endpoint: str, reason: str, status: int) -> None:
    """Count a refusal of the web server itself; `endpoint` and `reason` are constants."""
    REQUESTS.labels(endpoint, "none", str(status)).inc()
    REJECTED.labels(endpoint, reason).inc()
