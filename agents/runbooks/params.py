"""The parameters of a proposal, decided from the incident alone.

A model (or the built-in rules) may name a runbook and suggest parameters; what is
proposed is never the suggestion itself: each declared parameter takes the incident's
own value (`incident.service`, `incident.host`) or one of its declared choices. A
suggestion that differs from what the incident says is refused with the reason, so an
answer shaped by log text ("restart payments; rm -rf /") changes nothing.
"""

from __future__ import annotations

from agents.runbooks.catalog import SAFE_VALUE, RunbookSpec

__all__ = ["ParamsRefused", "decide_params"]


class ParamsRefused(ValueError):
    """The runbook cannot be proposed for this incident; the message says why (no values)."""


def decide_params(spec: RunbookSpec, *, service: str, host: str = "",
                  suggested: dict[str, object] | None = None) -> dict[str, str]:
    suggested = dict(suggested or {})
    unknown = sorted(set(suggested) - set(spec.params))
    if unknown:
        raise ParamsRefused(f"{spec.name}: no parameter named {', '.join(unknown)}")
    out: dict[str, str] = {}
    for name, param in spec.params.items():
        if param.source == "incident.service":
            value = service
        elif param.source == "incident.host":
            value = host
        else:
            value = str(suggested.get(name, param.default) or "")
            if value not in param.choices:
                raise ParamsRefused(f"{spec.name}: {name} must be one of the declared choices")
        if name in suggested and param.source != "choices" and str(suggested[name]) != value:
            raise ParamsRefused(f"{spec.name}: {name} must be the incident's own {param.source.split('.')[1]}")
        if not value:
            raise ParamsRefused(f"{spec.name}: the incident has no {param.source.split('.')[-1]} for {name}")
        if not SAFE_VALUE.match(value):
            raise ParamsRefused(f"{spec.name}: {name} is not a plain token")
        out[name] = value
    return out
