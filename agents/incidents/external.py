"""Alerts (from webhook drivers) and host checks as findings of an incident.

An alert or a failing check becomes a Finding with a stable fingerprint ("al1:" source
and the source's own fingerprint, "ck1:" check and host), so its later "resolved" or
"ok" finds the same finding. Pure mapping: never decides whether an incident opens.
"""

from __future__ import annotations

from schemas.records import Alert, CheckResult, Finding

__all__ = ["alert_finding", "check_finding"]

# Alert severity -> finding level; "critical" keeps the fatal/critical fallback to P1.
_ALERT_LEVELS = {"critical": "critical", "warning": "error", "info": "warning"}


def alert_finding(alert: Alert, now: float) -> Finding:
    return Finding(fingerprint=f"al1:{alert.source}:{alert.fingerprint}", service=alert.service, kind="alert",
                   endpoint=alert.labels.get("endpoint", ""), error_type=f"alert:{alert.name}",
                   template=alert.description or alert.name, level=_ALERT_LEVELS[alert.severity],
                   first_seen=alert.starts_at or now, last_seen=now, status=alert.status, source=alert.source)


def check_finding(check: CheckResult) -> Finding:
    where = f"{check.check}:{check.host}" if check.host else check.check
    return Finding(fingerprint=f"ck1:{where}", service=check.service, kind="check",
                   error_type=f"check:{check.check}", template=check.message or check.check,
                   level="error" if check.status == "fail" else "warning",
                   first_seen=check.at, last_seen=check.at,
                   status="resolved" if check.status == "ok" else "firing", source="checks")
