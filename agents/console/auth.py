"""Who may read the console's board: a bearer token from `approvals.api_tokens`.

Constant-time comparison against every configured token. Never puts a token, or any
part of the Authorization header, into an answer: a refused request learns only
whether a token was missing or wrong.
"""

from __future__ import annotations

import hmac
from typing import Mapping

from pydantic import SecretStr

__all__ = ["LOOPBACK", "Verdict", "check_bearer"]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Verdict:
    __slots__ = ("name", "status")

    def __init__(self, status: int, name: str = ""):
        self.status, self.name = status, name  # 200 (name: the token's), 401 missing, 403 wrong or not local

    @property
    def ok(self) -> bool:
        return self.status == 200


def check_bearer(authorization: str, tokens: Mapping[str, SecretStr], remote: str | None) -> Verdict:
    """With tokens configured the header must hold one; without, only loopback callers may
    read (as the approvals API answers them: `logwarden up` binds to 127.0.0.1)."""
    if not tokens:
        return Verdict(200, "local") if (remote or "") in LOOPBACK else Verdict(403)
    scheme, _, presented = (authorization or "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return Verdict(401)
    found = ""
    for name, secret in sorted(tokens.items()):
        expected = secret.get_secret_value()
        # Compare with every token (no early exit), so timing does not tell which one nearly matched.
        if expected and hmac.compare_digest(presented.encode(), expected.encode()):
            found = found or name
    return Verdict(200, found) if found else Verdict(403)
