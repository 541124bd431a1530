"""How an HTTP exchange with a vendor becomes a `DeliveryResult`, in one place.

The retry decision is the same for every HTTP channel: 2xx delivered; 408, 429 and 5xx
retryable (429 with the vendor's Retry-After); every other status permanent. Network
errors are retryable. Must never put a URL, header or exception text into an error:
URLs carry webhook secrets and bot tokens, and httpx exception messages can echo them.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx

from agents.notify.delivery import DeliveryResult

__all__ = ["exchange", "failure_for_status", "retry_decision", "retry_after_seconds"]


def retry_decision(status: int) -> Literal["delivered", "retryable", "permanent"]:
    if 200 <= status < 300:
        return "delivered"
    if status in (408, 429) or 500 <= status < 600:
        return "retryable"
    return "permanent"


def retry_after_seconds(value: Any) -> float | None:
    """Seconds from a Retry-After header or a vendor's JSON field; None if unusable."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        # The HTTP-date form would need the wall clock; the backoff applies instead.
        return None
    return seconds if seconds >= 0 else None


def failure_for_status(response: httpx.Response, vendor_code: str = "",
                       retry_after: float | None = None) -> DeliveryResult:
    """The failure a non-2xx response means. `vendor_code` is a short code from the body."""
    status = response.status_code
    reason = f"http_{status}"
    error = f"HTTP {status}" + (f": {vendor_code}" if vendor_code else "")
    if retry_decision(status) == "retryable":
        if retry_after is None:
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
        return DeliveryResult.retryable(reason, error, retry_after=retry_after)
    return DeliveryResult.permanent(reason, error)


async def exchange(client: httpx.AsyncClient, method: str, url: str,
                   **kwargs: Any) -> httpx.Response | DeliveryResult:
    """Send one request; a network failure comes back as a retryable result."""
    try:
        return await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        return DeliveryResult.retryable("timeout", f"timeout ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return DeliveryResult.retryable("network", f"network error ({type(exc).__name__})")
