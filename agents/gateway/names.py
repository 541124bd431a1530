"""The one check on a service name that came with a request, for every intake path.

A name from a log line, a query parameter, a header or an alert label becomes a record
key, a metrics label and a ticket title: it must be short and printable. Must never let
a control character (NUL, newline, escape) through, and never echo the name back.
"""

from __future__ import annotations

from agents.gateway.outcomes import Rejection

__all__ = ["MAX_SERVICE_CHARS", "checked_service"]

MAX_SERVICE_CHARS = 200


def checked_service(value: str, where: str) -> str:
    """`value` stripped, or a 400 `bad_service` naming where it came from."""
    value = value.strip()
    if not value or len(value) > MAX_SERVICE_CHARS or not value.isprintable():
        raise Rejection(400, "bad_service",
                        f"the service name from the {where} must be 1-{MAX_SERVICE_CHARS} printable characters")
    return value
