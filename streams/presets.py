"""Named pipeline presets: which stages a worker runs and where notifications go.

`preset = "host-checks"` at the top of the TOML file (or `LOGWARDEN_PRESET`) puts the
preset's keys under the configuration as defaults: every key the file or the
environment sets still wins, and a list (`stages`, `notify.routes`) given explicitly
replaces the preset's whole list. `logwarden config show --preset NAME` prints the
result; `ops/PRESETS.md` has an example of each. Data only: never reads a file or the
environment.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PRESETS", "Preset", "UnknownPreset", "expand"]

# Where a server operator or a small team with no other tool wants to hear about a host or the
# health report: whichever of these channels is configured (a rule sends to every configured
# channel it names), else the console.
_PAGES = ["telegram", "pagerduty", "ntfy", "email"]
_CHAT = ["slack", "discord", "telegram", "email", "ntfy"]
_INCIDENT_KINDS = ["alert", "update", "resolved", "approval_request"]
_TICKETS = {"kinds": ["ticket_create", "ticket_comment", "ticket_resolve", "oneoff_ticket"], "channels": ["jira"]}

OPERATOR_ROUTES: list[dict[str, Any]] = [
    _TICKETS,
    {"kinds": ["digest"], "channels": _CHAT},
    {"kinds": _INCIDENT_KINDS, "severities": ["P1"], "channels": _PAGES},
    {"kinds": _INCIDENT_KINDS, "channels": _CHAT},
]
@dataclass(frozen=True)
class Preset:
    name: str
    runs: str  # the pipeline, as people say it
    summary: str
    keys: dict[str, Any] = field(default_factory=dict)  # configuration defaults, in the TOML shape


class UnknownPreset(ValueError):
    pass


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("logs", "logs → AI → notify",
           "the default: log lines become incidents, the AI (local unless a provider is set) writes them up, "
           "routes are the issue's (P1 to on-call, the rest to Slack, tickets to Jira)"),
    Preset("host-checks", "checks → notify",
           "host checks and probes on this worker's host open and resolve incidents; the local narrator writes "
           "the texts (no model, no network); every configured chat channel hears about it",
           {"stages": ["ticks", "web", "checks", "incidents", "ai", "notify"], "ai": {"provider": "local"},
            "notify": {"routes": OPERATOR_ROUTES}}),
    Preset("host-checks-ai", "checks → AI → notify",
           "host checks as in host-checks, written up by the configured model (set ai.provider and its key); "
           "the local narrator is the fallback",
           {"stages": ["ticks", "web", "checks", "incidents", "ai", "notify"],
            "notify": {"routes": OPERATOR_ROUTES}}),
    Preset("alerts-triage", "alerts → checks → AI → notify",
           "alert webhooks (Alertmanager, Grafana, Datadog, ...) and host checks as findings of one incident per "
           "service, triaged by the AI; no log extraction",
           {"stages": ["ticks", "web", "gateway", "checks", "incidents", "ai", "notify"]}),
    Preset("health-analysis", "probes + baselines → periodic report",
           "log volume, error rates, check metrics and probe values against their hour-of-week baselines; one "
           "health report per period (also when all is normal) to the team's chat and as Markdown",
           {"stages": ["ticks", "web", "extract", "checks", "baselines", "notify"],
            "health": {"enabled": True, "digest": True}, "notify": {"routes": OPERATOR_ROUTES}}),
    Preset("full", "logs + alerts + checks → baselines → AI → notify",
           "everything: logs, webhooks, host checks and probes, baselines with the periodic health report, "
           "the AI, notifications and the executor of approved fixes (dry runs unless executor.allow_real)",
           {"stages": ["ticks", "web", "extract", "incidents", "ai", "notify", "gateway", "checks", "baselines",
                       "executor"],
            "health": {"enabled": True}}),
)}


def expand(name: str) -> dict[str, Any]:
    """The configuration defaults of preset `name` (a fresh copy), or `UnknownPreset` naming the known ones."""
    preset = PRESETS.get(name)
    if preset is None:
        raise UnknownPreset(f"unknown preset; known presets: {', '.join(PRESETS)}")
    return copy.deepcopy(preset.keys)
