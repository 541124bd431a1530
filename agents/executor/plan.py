"""What an order may run: the runbook looked up again, the parameters checked again, the argv.

The reducer validated the order before publishing it, but the executor trusts no
record: an order is a request, and `fixes.orders` may be written by anything that can
reach the broker. So the runbook must be in this worker's catalog, the order's
parameters must be exactly the runbook's declared ones, each a plain token
(`catalog.SAFE_VALUE`), a choice among the declared ones, or the incident's own
service. Refusals say why without repeating the values (they may be hostile).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.runbooks.catalog import SAFE_VALUE, Catalog, RunbookSpec
from schemas.records import FixOrder

__all__ = ["Plan", "Refused", "plan_order"]


@dataclass(frozen=True)
class Plan:
    """An order that may run: its runbook, the argv, and whether it runs for real."""

    spec: RunbookSpec
    argv: tuple[str, ...]
    dry_run: bool


class Refused(ValueError):
    """The order cannot run; the message says why, never with the values."""


def plan_order(order: FixOrder, catalog: Catalog, *, allow_real: bool) -> Plan:
    """The plan for `order`, or `Refused`.

    A dry run unless the runbook says `real = true`, AND the configuration allows real
    runs, AND the order itself is not a dry run: any one of them keeps it dry.
    """
    spec = catalog.get(order.runbook)
    if spec is None:
        raise Refused("the runbook is not in the catalog")
    missing = sorted(set(spec.params) - set(order.params))
    if missing:
        raise Refused(f"{spec.name}: parameter {', '.join(missing)} missing")
    extra = set(order.params) - set(spec.params)
    if extra:
        raise Refused(f"{spec.name}: {len(extra)} parameter(s) the runbook does not declare")
    for name, param in spec.params.items():
        value = order.params[name]
        if not isinstance(value, str) or not SAFE_VALUE.match(value):
            raise Refused(f"{spec.name}: {name} is not a plain token")
        if param.source == "choices" and value not in param.choices:
            raise Refused(f"{spec.name}: {name} is not one of the declared choices")
        if param.source == "incident.service" and value != order.service:
            raise Refused(f"{spec.name}: {name} is not the incident's own service")
    argv = tuple(spec.argv(order.params))
    dry_run = order.dry_run or not spec.real or not allow_real
    return Plan(spec=spec, argv=argv, dry_run=dry_run)
