"""Severity from impact: what share of the service or of an endpoint is failing, and how.

The classification (AI or `agents.local_ai.classify`) reads what a finding *is*; these
rules read how much it *hurts*, from evidence no model output can argue away: a crash,
a fatal level, a whole service failing, every write of an endpoint failing. They give a
floor the incident's severity never goes below (`Impact.severity`); they never lower
what the classification said (a low share lowers only there: the classification is
asked with the same counts). The counts come from the window (`WindowVolume`: the
service's errors and lines, and the access-log requests per route).
The thresholds are configuration (`[incidents.severity]`, `SeverityRules`), each with
its reason beside it. Pure: no I/O, no clock; the same finding and traffic give the
same answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import Finding, RouteCount

__all__ = ["Impact", "SeverityRules", "Traffic", "WindowVolume", "impact_floor", "is_write", "percent"]

_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# The process itself died (or is about to): no request of it succeeds until it restarts.
# Go writes an unrecovered panic as a line starting "panic: "; a panic that net/http
# recovered ("http: panic serving ...", with "panic(0x...)" frames) failed one request only.
_CRASH = re.compile(
    r"(?im)^panic: |^fatal error: |out ?of ?memory|outofmemoryerror|\bmemoryerror\b|cannot allocate memory"
    r"|segmentation (?:fault|violation)|sigsegv|sigabrt|core dumped|stack ?overflow")
# A data store or dependency refusing connections: nothing that needs it can succeed.
_UNREACHABLE = re.compile(
    r"(?i)connection refused|could not connect|can't connect|unable to connect|too many connections"
    r"|connection pool (?:is )?(?:exhausted|timeout)|econnrefused|name or service not known|no route to host")


class SeverityRules(BaseModel):
    """The impact rules' thresholds (`[incidents.severity]`); each default's reason is its description."""

    model_config = ConfigDict(extra="forbid")

    fatal_levels: list[str] = Field(
        default_factory=lambda: ["fatal", "emerg", "emergency", "alert", "panic"],
        description="levels that make a finding P1: the process says it cannot go on (syslog emerg/alert, "
                    "FATAL, panic); `critical` is left to the classification, which already pages on it")
    crash_is_p1: bool = Field(
        True, description="a crash (Go `panic:`, out of memory, segfault, stack overflow) is P1 and never a "
                          "one-off: one line of it means a process died")
    outage_error_share: float = Field(
        0.5, gt=0, le=1, description="whole-service outage (P1) when at least this share of the service's lines "
                                     "in a window are errors: a service that fails more than it serves is down")
    outage_min_errors: int = Field(
        10, ge=1, description="...and at least this many errors: a quiet service with 2 lines and 1 error is "
                              "not an outage")
    endpoint_min_requests: int = Field(
        5, ge=1, description="an endpoint's failing share (access logs) counts from this many requests in the "
                             "window: below 5 a minute one failure swings the share too far")
    endpoint_outage_share: float = Field(
        0.5, gt=0, le=1, description="at least this share of an endpoint's requests failing: P1 on a write path "
                                     "(POST/PUT/PATCH/DELETE: orders, payments are lost), P2 on a read "
                                     "(degraded, retryable)")
    endpoint_degraded_share: float = Field(
        0.01, gt=0, le=1, description="at least this share failing is P2 (users notice one failure in a "
                                      "hundred); below 1 % the built-in classification calls an unexplained "
                                      "error P3 (`agents/local_ai/classify.py`)")
    unreachable_write_min_count: int = Field(
        5, ge=1, description="without access logs: a write endpoint whose data store or dependency refuses "
                             "connections this many times in a window is P1 (while it refuses, every write "
                             "fails)")


@dataclass(frozen=True, slots=True)
class Traffic:
    """What the window says about volume: the service's errors and lines, and the
    finding's endpoint's requests and failed requests from access logs (0: unknown)."""

    errors: int = 0
    lines: int = 0
    endpoint_requests: int = 0
    endpoint_failed: int = 0


@dataclass(frozen=True, slots=True)
class WindowVolume:
    """A window's volume as the lifecycle hands it on: the service's errors and lines, and
    the access-log requests per route (`WindowSummary.routes`, keyed like `Finding.endpoint`).
    Empty for what has no window (a fatal line's fast path, an alert, a check)."""

    errors: int = 0
    lines: int = 0
    routes: Mapping[str, RouteCount] = field(default_factory=dict)

    def traffic(self, finding: Finding) -> Traffic:
        """The window's traffic as one finding sees it: its own endpoint's counts, none when
        the finding has no endpoint or its route is not in the access logs (unknown, not 0 %)."""
        route = self.routes.get(finding.endpoint) if finding.endpoint else None
        if route is None:
            return Traffic(errors=self.errors, lines=self.lines)
        return Traffic(errors=self.errors, lines=self.lines, endpoint_requests=route.requests,
                       endpoint_failed=route.failed)


@dataclass(frozen=True, slots=True)
class Impact:
    severity: str = ""  # the floor ("" none), P1..P3
    reason: str = ""  # one line for the timeline and the ticket


def is_write(endpoint: str) -> bool:
    return endpoint.split(" ", 1)[0] in _WRITE_METHODS


def percent(share: float) -> str:
    """A share as a person reads it: "80%", "0.3%", "0.02%"; never a misleading "0%"."""
    digits = 0 if share == 0 or share >= 0.1 else 1 if share >= 0.001 else 2
    return f"{share:.{digits}%}"


def _text(finding: Finding) -> str:
    # Lines, not one run-on string: the crash rule reads where a line starts.
    return "\n".join([finding.error_type, finding.title, finding.template, *finding.samples[:1]])


def impact_floor(finding: Finding, traffic: Traffic, rules: SeverityRules) -> Impact:
    """The floor of `finding`'s severity ("" when its impact says nothing beyond the classification)."""
    if finding.kind != "log":
        return Impact()
    text = _text(finding)
    if rules.crash_is_p1 and _CRASH.search(text):
        return Impact("P1", reason="the process crashed (panic, out of memory or segfault)")
    if finding.level.lower() in rules.fatal_levels:
        return Impact("P1", reason=f"logged at level {finding.level}")
    if (traffic.lines and traffic.errors >= rules.outage_min_errors
            and traffic.errors / traffic.lines >= rules.outage_error_share):
        return Impact("P1", reason=f"whole service failing: {traffic.errors} of {traffic.lines} lines are errors")
    write = is_write(finding.endpoint)
    path = "write path" if write else "read path"
    if traffic.endpoint_requests >= rules.endpoint_min_requests:
        failed = min(traffic.endpoint_failed, traffic.endpoint_requests)
        share = failed / traffic.endpoint_requests
        what = (f"{failed} of {traffic.endpoint_requests} requests to {finding.endpoint} failed in one minute "
                f"({percent(share)}, {path})")
        if share >= rules.endpoint_outage_share:
            return Impact("P1" if write else "P2", reason=what)
        if share >= rules.endpoint_degraded_share:
            return Impact("P2", reason=what)
        return Impact(reason=what)
    if (write and finding.count >= rules.unreachable_write_min_count and _UNREACHABLE.search(text)):
        return Impact("P1", reason=f"every write to {finding.endpoint} fails: a dependency refuses connections "
                                   f"({finding.count} in one minute)")
    return Impact()
