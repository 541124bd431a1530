"""What the gateway's pure functions answer: an HTTP status, a JSON body, what to publish.

The thin web shell turns an outcome into a response. It must never put a secret, a
header value or more than a short excerpt of the request into a body.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from schemas.records import Alert

__all__ = ["GatewayOutcome", "LogIntakeOutcome", "Rejection", "broker_unavailable"]


@dataclass
class Rejection(Exception):
    """A request refused with a 4xx: raised inside the gateway, caught at its edge."""

    status: int
    reason: str  # machine-readable, also the metrics label
    message: str  # for the sender; never contains a secret
    headers: dict[str, str] = field(default_factory=dict)
    driver: str = ""  # the driver chosen before the refusal, if any

    def body(self, driver: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.reason, "message": self.message}
        if driver:
            out["driver"] = driver
        return out


@dataclass(frozen=True)
class GatewayOutcome:
    """Answer to one webhook. 202: publish every alert (key `alert.service`), then answer."""

    status: int
    body: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    driver: str = ""  # "" when no driver was chosen
    reason: str = "accepted"  # metrics label for rejections
    payload_bytes: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def refused(cls, rejection: Rejection, driver: str, payload_bytes: int) -> "GatewayOutcome":
        driver = rejection.driver or driver
        return cls(rejection.status, rejection.body(driver), driver=driver, reason=rejection.reason,
                   payload_bytes=payload_bytes, headers=rejection.headers)


@dataclass(frozen=True)
class LogIntakeOutcome:
    """Answer to one `POST /logs`. 202: publish every (key, value) to `logs.raw`, then answer."""

    status: int
    body: dict[str, Any]
    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    reason: str = "accepted"
    payload_bytes: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def refused(cls, rejection: Rejection, payload_bytes: int) -> "LogIntakeOutcome":
        return cls(rejection.status, rejection.body(), reason=rejection.reason, payload_bytes=payload_bytes,
                   headers=rejection.headers)


def broker_unavailable(
    outcome: GatewayOutcome | LogIntakeOutcome, retry_after_s: int = 5
) -> GatewayOutcome | LogIntakeOutcome:
    """The 503 to answer when publishing an accepted outcome failed: the sender retries."""
    body = {
        "error": "broker_unavailable",
        "message": "the event log did not acknowledge the records; nothing was accepted, retry later",
    }
    empty: dict[str, Any] = {"alerts": []} if isinstance(outcome, GatewayOutcome) else {"records": []}
    return replace(outcome, status=503, body=body, reason="broker_unavailable",
                   headers={"Retry-After": str(int(retry_after_s))}, **empty)
