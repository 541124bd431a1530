"""`POST /alerts/webhook[/{driver}]` as a pure function: request in, outcome out.

Order of checks: driver name (404), size (413), media type (415), encoding, signature
of a forced driver (401/403), JSON (400), shape and driver (422), signature of an
auto-detected driver, replay window, normalisation, de-duplication. Must never raise
and never answer 5xx: anything unexpected in a driver is the sender's odd payload (422).
"""

from __future__ import annotations

from typing import Any, Mapping

import orjson

from agents.gateway.auth import authenticate, check_event_age, policy_for
from agents.gateway.body import decoded_body, lower_headers, media_type
from agents.gateway.config import GatewayConfig
from agents.gateway.drivers import DRIVERS, Driver, NoAlertState, ShapeError, detect_driver
from agents.gateway.normalise import build_alert
from agents.gateway.outcomes import GatewayOutcome, Rejection
from schemas.records import Alert

__all__ = ["JSON_MEDIA_TYPES", "handle_webhook", "parse_json"]

# Some senders (Zabbix scripts, older tools) label JSON as text/plain or send no type.
JSON_MEDIA_TYPES = frozenset({"", "application/json", "text/json", "text/plain"})


def parse_json(data: bytes) -> Any:
    """JSON or a 400 that says where it broke."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Rejection(400, "malformed_json",
                        f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                        f" (char {exc.pos})") from None


def _check_media_type(headers: Mapping[str, str]) -> None:
    kind = media_type(headers)
    if kind in JSON_MEDIA_TYPES or kind.endswith("+json"):
        return
    raise Rejection(415, "unsupported_media_type",
                    f"Content-Type {kind[:60]!r} is not accepted; send application/json")


def handle_webhook(driver: str | None, headers: Mapping[str, str], body: bytes, now: float,
                   cfg: GatewayConfig) -> GatewayOutcome:
    """Check, parse and normalise one webhook. 202: publish `alerts` keyed by service."""
    name = driver or ""
    try:
        return _handle(driver, lower_headers(headers), body, now, cfg)
    except Rejection as rejection:
        name = rejection.driver or name
        return GatewayOutcome(rejection.status, rejection.body(name), driver=name,
                              reason=rejection.reason, payload_bytes=len(body),
                              headers=rejection.headers)
    except Exception as exc:  # the contract is "never raises": an odd payload is a 422
        return GatewayOutcome(422, {"error": "unprocessable",
                                    "message": f"payload could not be processed ({type(exc).__name__})"},
                              driver=name, reason="unprocessable", payload_bytes=len(body))


def _handle(driver_name: str | None, headers: dict[str, str], body: bytes, now: float,
            cfg: GatewayConfig) -> GatewayOutcome:
    forced: Driver | None = None
    if driver_name is not None:
        forced = DRIVERS.get(driver_name.lower())
        if forced is None:
            raise Rejection(404, "unknown_driver",
                            f"no driver {driver_name[:40]!r}; known: {', '.join(DRIVERS)}")
    data = decoded_body(headers, body, cfg.max_body_bytes, cfg.max_decompressed_bytes)
    _check_media_type(headers)
    if forced is not None:
        # Before parsing: an unauthenticated sender learns nothing about our parser.
        authenticate(forced.name, headers, data, now, cfg)
    payload = parse_json(data)
    chosen = forced or detect_driver(payload)
    if chosen is None:
        raise Rejection(422, "unknown_shape",
                        "no driver recognises this payload; post to /alerts/webhook/<driver>"
                        f" with one of: {', '.join(DRIVERS)}")
    try:
        return _normalised(chosen, forced is None, headers, data, payload, len(body), now, cfg)
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
