"""The webhook drivers, in one explicit registry ordered for auto-detection.

Specific formats come first, the permissive generic format last; Grafana precedes
Alertmanager because its unified payload is Alertmanager's plus Grafana-only keys.
Nothing here scans folders: a new driver is added to `DRIVERS` by hand.
"""

from __future__ import annotations

from typing import Any

from agents.gateway.drivers import (alertmanager, datadog, generic, grafana, newrelic, opsgenie,
                                    pagerduty, zabbix)
from agents.gateway.drivers.base import Driver, NoAlertState, ShapeError

__all__ = ["DRIVERS", "Driver", "NoAlertState", "ShapeError", "detect_driver"]

DRIVERS: dict[str, Driver] = {
    "pagerduty": pagerduty.DRIVER,
    "opsgenie": opsgenie.DRIVER,
    "newrelic": newrelic.DRIVER,
    "datadog": datadog.DRIVER,
    "grafana": grafana.DRIVER,
    "alertmanager": alertmanager.DRIVER,
    "zabbix": zabbix.DRIVER,
    "generic": generic.DRIVER,
}


def detect_driver(payload: Any) -> Driver | None:
    """The first driver, in registry order, that recognises the payload."""
    for driver in DRIVERS.values():
        if driver.detect(payload):
            return driver
    return None
