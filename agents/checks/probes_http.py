"""HTTP probes: a JSON value from a URL, or a Prometheus instant query.

Only GETs, with the probe's timeout on connect and read and no redirects followed; a
status other than 200 or a body that is not JSON is a `ProbeError`.
"""

from __future__ import annotations

import httpx

from agents.checks.config import ProbeSpec
from agents.checks.probes import ProbeError, json_value, prometheus_values

__all__ = ["HttpProber", "run_http"]


async def run_http(spec: ProbeSpec, client: httpx.AsyncClient) -> dict[str, float]:
    if spec.kind == "prometheus":
        url, params = spec.url.rstrip("/") + "/api/v1/query", {"query": spec.query}
    else:
        url, params = spec.url, None
    try:
        response = await client.get(url, params=params, timeout=spec.timeout_s, follow_redirects=False)
    except httpx.TimeoutException:
        raise ProbeError(f"timed out after {spec.timeout_s:g}s") from None
    except httpx.HTTPError as exc:
        raise ProbeError(f"request failed: {exc.__class__.__name__}") from None
    if response.status_code != 200 and not (spec.kind == "prometheus" and response.status_code in (400, 422)):
        raise ProbeError(f"answered HTTP {response.status_code}")
    try:
        doc = response.json()
    except ValueError:
        raise ProbeError("answered something that is not JSON") from None
    if spec.kind == "prometheus":
        return prometheus_values(doc, spec.name)
    return json_value(doc, spec.json_path, spec.name)


class HttpProber:
    """The HTTP client of one probe runner, opened on first use."""

    def __init__(self, client: httpx.AsyncClient | None = None):
        self.client = client

    async def values(self, spec: ProbeSpec) -> dict[str, float]:
        if self.client is None:
            self.client = httpx.AsyncClient()
        return await run_http(spec, self.client)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
