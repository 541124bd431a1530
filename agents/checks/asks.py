"""Probes asked for by name during an investigation (`checks.requests`): run each once.

The AI stage publishes a `ProbeRequest` when a validated classification asked for a
configured probe. The checks stage runs the probe of its own configuration that has
that name (`CheckRunner.asked`), once per incident and probe: the names already run
are kept per service in the changelogged table `probe-asks`, the newest `KEPT` of them,
so a redelivered request or a second finding of the same incident runs nothing again.
Only a name ever comes in; nothing from a request is passed to a command. Pure.
"""

from __future__ import annotations

from schemas.records import ProbeRequest

__all__ = ["ASKS_TABLE", "KEPT", "ask_key", "first_ask"]

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
