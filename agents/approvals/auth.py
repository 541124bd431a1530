"""Bearer tokens of the approvals HTTP API (`approvals.api_tokens`, name -> token).

A caller is `http:<token name>`. With no token configured the API answers loopback
callers only (`logwarden up` binds to 127.0.0.1), as `http:local`. Must never echo a
token, and compares every configured token in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Mapping

from pydantic import SecretStr

__all__ = ["AuthRefusal", "LOOPBACK", "bearer_actor"]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass
class AuthRefusal(Exception):
    status: int
    reason: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def bearer_actor(headers: Mapping[str, str], tokens: Mapping[str, SecretStr], remote: str | None) -> str:
    """The actor a request authenticates as, or `AuthRefusal` (401 no/bad header, 403 unknown token)."""
    if not tokens:
        if (remote or "") in LOOPBACK:
            return "http:local"
        raise AuthRefusal(403, "api_disabled", "no approvals.api_tokens are configured: only local callers "
                                               "may use this API")
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthRefusal(401, "unauthorized", "send Authorization: Bearer <token> (approvals.api_tokens)",
                          {"WWW-Authenticate": 'Bearer realm="logwarden"'})
    given = token.strip().encode()
    actor = ""
    for name, secret in sorted(tokens.items()):
        if hmac.compare_digest(given, secret.get_secret_value().encode()) and not actor:
            actor = f"http:{name}"
    if not actor:
        raise AuthRefusal(403, "forbidden", "this token is not accepted")
    return actor
