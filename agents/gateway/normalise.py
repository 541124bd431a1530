"""From what a driver read to one `Alert`: ids, fingerprints, severity, service, times.

Drivers describe an alert in the source's own terms (`AlertDraft`); this module applies
the rules every source shares, so all drivers agree on them. Must never read a clock
(`now` is passed in) and never raise on odd values: a bad time is `None`, an unknown
severity is the configured default. The one exception is a service name that is not
printable (NUL, control characters): `build_alert` refuses it with a 400 `Rejection`,
as every intake path does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from agents.gateway.config import GatewayConfig
from agents.gateway.names import checked_service
from agents.redact import redact
from schemas.records import Alert, Finding

__all__ = [
    "AlertDraft",
    "SEVERITY_TABLE",
    "alert_finding",
    "build_alert",
    "flat_labels",
    "to_epoch",
]

MAX_LABELS = 64
MAX_LABEL_CHARS = 1024
MAX_NAME_CHARS = 300
MAX_DESCRIPTION_CHARS = 4000

# Source-native severities, lower case. Alertmanager/Grafana labels, PagerDuty
# priorities and urgency, Opsgenie P1-P5, New Relic priorities, Zabbix levels.
SEVERITY_TABLE: dict[str, Literal["critical", "warning", "info"]] = {
    **dict.fromkeys(("critical", "crit", "fatal", "emergency", "emerg", "page", "p1", "sev1",
                     "disaster", "high", "severe"), "critical"),
    **dict.fromkeys(("warning", "warn", "error", "err", "major", "minor", "p2", "p3", "sev2",
                     "sev3", "average", "medium", "moderate", "exception", "no data"), "warning"),
    **dict.fromkeys(("info", "information", "informational", "notice", "low", "p4", "p5",
                     "not classified", "debug", "none", "ok", "test"), "info"),
}


@dataclass
class AlertDraft:
    """One alert as a driver read it, before the shared rules apply."""

    native_id: str  # the source's own identity of the alert, stable across firing/resolved
    name: str
    status: Literal["firing", "resolved"]
    severity: str = ""  # source-native; "" = unknown
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: float | None = None
    ends_at: float | None = None
    description: str = ""
    raw: Any = None


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def to_epoch(value: Any) -> float | None:
    """RFC 3339 text (any fraction length) or epoch s/ms/us/ns -> epoch seconds; else None.

    Go's zero time (`0001-01-01T00:00:00Z`, Alertmanager's "no end") is None.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _scaled_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _scaled_epoch(float(text))
    match = _RFC3339.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, frac, tz = match.groups()
    if int(year) <= 1:
        return None
    tz = "+00:00" if tz in (None, "Z", "z") else tz
    try:
        stamp = datetime.fromisoformat(f"{year}-{month}-{day}T{hour}:{minute}:{second}{tz}")
    except ValueError:
        return None
    # Alertmanager sends nanoseconds; datetime keeps microseconds, so add the fraction here.
    return stamp.timestamp() + (float("0." + frac) if frac else 0.0)


def _scaled_epoch(value: float) -> float | None:
    if value != value or value <= 0 or value == float("inf"):
        return None
    # Seconds until year 5138; beyond that the unit must be ms, us or ns.
    for scale in (1.0, 1e3, 1e6, 1e9):
        if value / scale < 1e11:
            return value / scale
    return None


def flat_labels(values: Any) -> dict[str, str]:
    """Labels/tags in any of the shapes sources use, as a bounded str -> str dict.

    dict: kept; list of "k:v" / "k=v" / plain tags: split, plain tags gathered under `tags`;
    a comma-separated string: the same, split first.
    """
    out: dict[str, str] = {}
    plain: list[str] = []
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    if isinstance(values, dict):
        items = [(str(k), _text(v)) for k, v in values.items()]
    elif isinstance(values, list):
        items = []
        for tag in values:
            tag = _text(tag).strip()
            key, sep, val = tag.partition(":") if ":" in tag else tag.partition("=")
            if sep and key:
                items.append((key.strip(), val.strip()))
            elif tag:
                plain.append(tag)
    else:
        items = []
    for key, val in items[:MAX_LABELS]:
        out[key[:MAX_LABEL_CHARS]] = val[:MAX_LABEL_CHARS]
    if plain:
        out.setdefault("tags", ",".join(plain)[:MAX_LABEL_CHARS])
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return orjson.dumps(value, default=str).decode()


def _severity(native: str, cfg: GatewayConfig) -> Literal["critical", "warning", "info"]:
    key = native.strip().lower()
    return cfg.severity_map.get(key) or SEVERITY_TABLE.get(key) or cfg.default_severity


def _service(labels: dict[str, str], cfg: GatewayConfig) -> str:
    for key in cfg.service_labels:
        value = labels.get(key, "").strip()
        if value:
            value = checked_service(value, f"alert label {key[:40]!r}")
            return cfg.service_aliases.get(value, value)
    return cfg.default_service


def _bounded_raw(raw: Any, limit: int) -> dict[str, Any] | list[Any] | None:
    if raw is None:
        return None
    text = orjson.dumps(raw, default=str)
    if len(text) <= limit and isinstance(raw, (dict, list)):
        return raw
    return {"_truncated": True, "_bytes": len(text), "head": text[:limit].decode("utf-8", "ignore")}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def build_alert(source: str, draft: AlertDraft, now: float, cfg: GatewayConfig) -> Alert:
    """The normalised, deterministic `Alert` for a draft from `source`."""
    fingerprint = "al1:" + _digest(source, draft.native_id)[:20]
    starts = "" if draft.starts_at is None else repr(round(draft.starts_at, 6))
    # Same alert, same status, same start: same id, so a redelivery deduplicates downstream.
    alert_id = _digest(source, fingerprint, draft.status, starts)[:32]
    labels = {k: v for k, v in list(draft.labels.items())[:MAX_LABELS]}
    return Alert(
        id=alert_id,
        trace_id=alert_id[:16],
        source=source,
        fingerprint=fingerprint,
        name=(draft.name.strip() or "alert")[:MAX_NAME_CHARS],
        status=draft.status,
        severity=_severity(draft.severity, cfg),
        service=_service(labels, cfg),
        labels=labels,
        annotations={k: v for k, v in list(draft.annotations.items())[:MAX_LABELS]},
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        description=draft.description[:MAX_DESCRIPTION_CHARS],
        received_at=now,
        raw=_bounded_raw(draft.raw, cfg.raw_max_bytes),
    )


_LEVELS = {"critical": "critical", "warning": "warning", "info": "warning"}


def alert_finding(alert: Alert) -> Finding:
    """The finding an alert contributes to its service's incident (for the incidents stage)."""
    seen = alert.ends_at if alert.status == "resolved" and alert.ends_at else alert.starts_at
    first = alert.starts_at if alert.starts_at is not None else alert.received_at
    return Finding(
        fingerprint=alert.fingerprint,
        service=alert.service,
        kind="alert",
        error_type=f"alert:{alert.name}"[:200],
        template=alert.name,
        level=_LEVELS[alert.severity],
        first_seen=first,
        last_seen=seen if seen is not None else alert.received_at,
        samples=[redact(alert.description)[:500]] if alert.description else [],
        status=alert.status,
        source=alert.source,
    )
