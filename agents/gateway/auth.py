"""Who may post to a source: bearer token or HMAC signature, with a replay window.

Every comparison is constant-time. Must never put a token, a secret, a signature or any
header value into a message: a refused request learns only which check failed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Mapping

from agents.gateway.body import header
from agents.gateway.config import GatewayConfig, SourceAuth
from agents.gateway.outcomes import Rejection

__all__ = ["HMAC_DEFAULTS", "HmacFormat", "authenticate", "check_event_age", "policy_for", "sign"]


@dataclass(frozen=True)
class HmacFormat:
    """Where a source puts its signature and how it spells it."""

    signature_header: str
    prefix: str  # before the hex digest: "v1=" for PagerDuty, "" for Grafana
    timestamp_header: str  # "" when the source sends none by default


_LOGWARDEN = HmacFormat("X-Logwarden-Signature", "sha256=", "X-Logwarden-Timestamp")

# Sources with their own signing convention; every other source uses Logwarden's.
HMAC_DEFAULTS: dict[str, HmacFormat] = {
    "grafana": HmacFormat("X-Grafana-Alerting-Signature", "", ""),
    "pagerduty": HmacFormat("X-PagerDuty-Signature", "v1=", ""),
}


def policy_for(source: str, cfg: GatewayConfig) -> SourceAuth | None:
    return cfg.auth.get(source) or cfg.auth.get("default")


def _format(source: str, policy: SourceAuth) -> HmacFormat:
    base = HMAC_DEFAULTS.get(source, _LOGWARDEN)
    return HmacFormat(policy.signature_header or base.signature_header, base.prefix,
                      policy.timestamp_header or base.timestamp_header)


def sign(secret: str, body: bytes, timestamp: str = "") -> str:
    """Hex HMAC-SHA256 of the body, or of "<timestamp>:<body>" (Grafana's convention)."""
    message = f"{timestamp}:".encode() + body if timestamp else body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def authenticate(source: str, headers: Mapping[str, str], body: bytes, now: float,
                 cfg: GatewayConfig) -> None:
    """Raise `Rejection` (401 missing, 403 wrong or stale) unless the request may post."""
    policy = policy_for(source, cfg)
    if policy is None or policy.scheme == "none":
        return
    if policy.scheme == "bearer":
        _check_bearer(headers, policy)
    else:
        _check_hmac(source, headers, body, now, policy)


def _check_bearer(headers: Mapping[str, str], policy: SourceAuth) -> None:
    scheme, _, presented = header(headers, "authorization").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Rejection(401, "auth_missing", "this source needs `Authorization: Bearer <token>`",
                        {"WWW-Authenticate": 'Bearer realm="logwarden"'})
    expected = policy.token.get_secret_value().encode()
    if not hmac.compare_digest(presented.strip().encode(), expected):
        raise Rejection(403, "auth_invalid", "the bearer token is not valid for this source")


def _check_hmac(source: str, headers: Mapping[str, str], body: bytes, now: float,
                policy: SourceAuth) -> None:
    fmt = _format(source, policy)
    presented = header(headers, fmt.signature_header)
    if not presented:
        raise Rejection(401, "auth_missing", f"this source needs a {fmt.signature_header} signature")
    timestamp = ""
    if fmt.timestamp_header:
        timestamp = header(headers, fmt.timestamp_header)
        if not timestamp:
            raise Rejection(401, "auth_missing", f"this source needs a {fmt.timestamp_header} header")
    # PagerDuty sends several comma-separated signatures while a secret is rotated.
    candidates = [p.strip() for p in presented.split(",") if p.strip()]
    digests = [sign(s.get_secret_value(), body, timestamp) for s in policy.secrets
               if s.get_secret_value()]
    matched = False
    for candidate in candidates:
        if fmt.prefix and not candidate.startswith(fmt.prefix):
            continue
        value = candidate[len(fmt.prefix):].lower().encode()
        for digest in digests:
            # No early exit: every pair is compared, so timing says nothing about which.
            matched |= hmac.compare_digest(value, digest.encode())
    if not matched:
        raise Rejection(403, "auth_invalid", "the signature does not match the body")
    if timestamp:
        check_event_age(_epoch(timestamp), now, policy)


def check_event_age(signed_at: float | None, now: float, policy: SourceAuth | None) -> None:
    """Refuse a signed request whose signed time is outside the replay window."""
    if policy is None or policy.scheme != "hmac" or policy.replay_window_s <= 0:
        return
    if signed_at is None:
        raise Rejection(403, "auth_stale", "the signed timestamp is not a valid time")
    if abs(now - signed_at) > policy.replay_window_s:
        raise Rejection(403, "auth_stale",
                        f"the signed timestamp is more than {policy.replay_window_s:g} s from now"
                        " (replayed or clock skew)")


def _epoch(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    # Some senders use milliseconds.
    return value / 1000.0 if value > 1e11 else value
