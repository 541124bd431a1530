"""`POST /alerts/webhook[/{driver}]` as a pure function: decoded body in, outcome out.

The web shell has already checked the size and decoded the body (`agents.gateway.body`).
Order of checks: driver name (404), media type (415), signature of a forced driver
(401/403), JSON cost (413) and syntax (400), shape and driver (422), signature of an
auto-detected driver, replay window, normalisation (a service name that is not
printable: 400), de-duplication. Must never raise and never answer 5xx: anything
unexpected in a driver is the sender's odd payload (422).
"""

from __future__ import annotations

from typing import Any, Mapping

from agents.gateway.auth import authenticate, check_event_age, policy_for
from agents.gateway.body import lower_headers, media_type
from agents.gateway.config import GatewayConfig
from agents.gateway.drivers import DRIVERS, Driver, NoAlertState, ShapeError, detect_driver
from agents.gateway.jsonbody import json_cost, parse_json
from agents.gateway.normalise import build_alert
from agents.gateway.outcomes import GatewayOutcome, Rejection
from schemas.records import Alert

__all__ = ["JSON_MEDIA_TYPES", "MAX_WEBHOOK_JSON_COST", "forced_driver", "handle_webhook"]

# Some senders (Zabbix scripts, older tools) label JSON as text/plain or send no type.
JSON_MEDIA_TYPES = frozenset({"", "application/json", "text/json", "text/plain"})
# A webhook is parsed whole: this many containers and separators parse in ~20 ms. Real
# payloads hold a few thousand (1000 alerts of 30 labels: ~35k).
MAX_WEBHOOK_JSON_COST = 100_000


def _check_media_type(headers: Mapping[str, str]) -> None:
    kind = media_type(headers)
    if kind in JSON_MEDIA_TYPES or kind.endswith("+json"):
        return
    raise Rejection(415, "unsupported_media_type",
                    f"Content-Type {kind[:60]!r} is not accepted; send application/json")


def handle_webhook(driver: str | None, headers: Mapping[str, str], data: bytes, now: float,
                   cfg: GatewayConfig) -> GatewayOutcome:
    """Check, parse and normalise one decoded webhook body. 202: publish `alerts` keyed by service."""
    try:
        return _handle(forced_driver(driver), lower_headers(headers), data, now, cfg)
    except Rejection as rejection:
        return GatewayOutcome.refused(rejection, driver or "", len(data))
    except Exception as exc:  # the contract is "never raises": an odd payload is a 422
        return GatewayOutcome(422, {"error": "unprocessable",
                                    "message": f"payload could not be processed ({type(exc).__name__})"},
                              driver=driver or "", reason="unprocessable", payload_bytes=len(data))


def forced_driver(name: str | None) -> Driver | None:
    """The driver a path names (404 if none has that name), or None: detect it."""
    if name is None:
        return None
    forced = DRIVERS.get(name.lower())
    if forced is None:
        raise Rejection(404, "unknown_driver", f"no driver {name[:40]!r}; known: {', '.join(DRIVERS)}")
    return forced


def _handle(forced: Driver | None, headers: dict[str, str], data: bytes, now: float,
            cfg: GatewayConfig) -> GatewayOutcome:
    _check_media_type(headers)
    if forced is not None:
        # Before parsing: an unauthenticated sender learns nothing about our parser.
        authenticate(forced.name, headers, data, now, cfg)
    if json_cost(data) > MAX_WEBHOOK_JSON_COST:
        raise Rejection(413, "too_complex", f"more than {MAX_WEBHOOK_JSON_COST} JSON values and separators"
                                            " in one webhook; send fewer alerts per request")
    payload = parse_json(data)
    chosen = forced or detect_driver(payload)
    if chosen is None:
        raise Rejection(422, "unknown_shape",
                        "no driver recognises this payload; post to /alerts/webhook/<driver>"
                        f" with one of: {', '.join(DRIVERS)}")
    try:
        return _normalised(chosen, forced is None, headers, data, payload, len(data), now, cfg)
    except Rejection as rejection:
        rejection.driver = chosen.name
        raise


def _normalised(chosen: Driver, detected: bool, headers: dict[str, str], data: bytes, payload: Any,
                size: int, now: float, cfg: GatewayConfig) -> GatewayOutcome:
    if detected:
        authenticate(chosen.name, headers, data, now, cfg)
    policy = policy_for(chosen.name, cfg)
    if chosen.signed_at is not None and policy is not None and not policy.timestamp_header:
        check_event_age(_safe_signed_at(chosen, payload), now, policy)
    try:
        drafts = chosen.parse(payload)
    except NoAlertState as exc:
        return _accepted(chosen.name, [], size, note=str(exc))
    except ShapeError as exc:
        raise Rejection(422, "unknown_shape", f"{chosen.name}: {exc}") from None
    except Exception as exc:  # a driver bug on an odd payload is still the payload's 422
        raise Rejection(422, "unknown_shape",
                        f"{chosen.name}: payload could not be read ({type(exc).__name__})") from None
    if len(drafts) > cfg.max_alerts_per_request:
        raise Rejection(413, "too_many_alerts",
                        f"{len(drafts)} alerts in one request; the limit is {cfg.max_alerts_per_request}")
    alerts = _dedup([build_alert(chosen.name, d, now, cfg) for d in drafts])
    return _accepted(chosen.name, alerts, size)


def _safe_signed_at(driver: Driver, payload: Any) -> float | None:
    """The time inside the signed body (PagerDuty v3 `occurred_at`); None if unreadable."""
    try:
        return driver.signed_at(payload) if driver.signed_at else None
    except Exception:  # an odd payload has no usable time: refused as stale, not a 5xx
        return None


def _dedup(alerts: list[Alert]) -> list[Alert]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for alert in alerts:
        key = (alert.source, alert.fingerprint, alert.status)
        if key not in seen:
            seen.add(key)
            out.append(alert)
    return out


def _accepted(driver: str, alerts: list[Alert], size: int, note: str = "") -> GatewayOutcome:
    body: dict[str, Any] = {
        "status": "accepted",
        "driver": driver,
        "alerts": len(alerts),
        "ids": [a.id for a in alerts],
    }
    if note:
        body["message"] = f"nothing to publish: {note}"
    return GatewayOutcome(202, body, alerts=alerts, driver=driver, payload_bytes=size)
