"""Probes asked for by name during an investigation (`checks.requests`): run each once.

The AI stage publishes a `ProbeRequest` when a validated classification asked for a
configured probe. The checks stage runs the probe of its own configuration that has
that name (`CheckRunner.asked`), once per incident and probe: the names already run
are kept per service in the changelogged table `probe-asks`, the newest `KEPT` of them,
so a redelivered request or a second finding of the same incident runs nothing again.
Only a name ever comes in; nothing from a request is passed to a command. Pure.

Where the result goes (`deliveries`): under the probe's own service, as every run of it
(it grades, baselines and recovers like its scheduled runs). When the incident that
asked belongs to another service (a shared queue probed for the checkout incident), a
copy goes to that service too, so the incident's timeline shows the value; the copy's
status is `unknown`, which neither opens nor resolves anything there and is not
baselined: the probe's later runs never reach that service, so a failing copy would
hold its incident open, and one value under a foreign service is no series.
"""

from __future__ import annotations

from schemas.records import CheckResult, ProbeRequest

__all__ = ["ASKS_TABLE", "KEPT", "ask_key", "deliveries", "first_ask"]

ASKS_TABLE = "probe-asks"
KEPT = 200


def ask_key(request: ProbeRequest) -> str:
    return f"{request.incident_id or request.id}|{request.probe}"


def first_ask(done: list[str] | None, request: ProbeRequest) -> list[str] | None:
    """The service's list with this ask in it, or None when it already ran."""
    key = ask_key(request)
    if key in (done or []):
        return None
    return [*(done or []), key][-KEPT:]


def deliveries(request: ProbeRequest, result: CheckResult) -> list[CheckResult]:
    """The asked probe's result for `checks.results`, plus a copy for the asking incident's service."""
    if not request.service or request.service == result.service:
        return [result]
    copy = result.model_copy(update={
        "service": request.service, "status": "unknown",
        "message": f"{result.message} [{result.status} on {result.service}, the probe's service]"})
    return [result, copy]
