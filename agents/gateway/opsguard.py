"""OpsGuard's `POST /ingest-alert` `{"serverName", "errorLogs", "severity"?, "timestamp"?}` as log lines.

OpsGuard users switch by pointing their apps here unchanged: every line of `errorLogs`
(one string with newlines, or a list of strings) becomes one `logs.raw` record of
service `serverName`, a JSON line `{"service", "level": "error", "message", "source":
"opsguard"}` (OpsGuard posts only error logs), so the extraction stage sees the same
lines it would have read from a shipper. Authenticated like `POST /logs` (source
"logs"), under the same limits. Pure: the shell publishes and answers.
"""

from __future__ import annotations

from typing import Any, Mapping

import orjson

from agents.gateway.auth import authenticate
from agents.gateway.body import lower_headers, media_type
from agents.gateway.config import GatewayConfig
from agents.gateway.jsonbody import parse_json
from agents.gateway.names import checked_service
from agents.gateway.outcomes import LogIntakeOutcome, Rejection
from agents.service_name import resolve

__all__ = ["opsguard_intake"]


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise Rejection(400, "bad_error_logs", "`errorLogs` must be a string or a list of strings")
    return [line for item in items for line in item.splitlines() if line.strip()]


def opsguard_intake(headers: Mapping[str, str], data: bytes, cfg: GatewayConfig, *, now: float,
                    service_map: Mapping[str, str] | None = None) -> LogIntakeOutcome:
    """202 with the records to publish to `logs.raw`, or the 4xx that says what is wrong."""
    try:
        lowered = lower_headers(headers)
        kind = media_type(lowered)
        if kind and kind != "application/json" and not kind.endswith("+json"):
            raise Rejection(415, "unsupported_media_type", "send application/json")
        authenticate("logs", lowered, data, now, cfg)
        body = parse_json(data)
        if not isinstance(body, dict):
            raise Rejection(400, "bad_request", 'the body must be a JSON object {"serverName", "errorLogs"}')
        if not isinstance(body.get("serverName"), str):
            raise Rejection(400, "bad_service", "`serverName` (a string) is required")
        service = resolve(checked_service(body["serverName"], "serverName"), None, service_map or {})
        lines = _lines(body.get("errorLogs"))
        if not lines:
            raise Rejection(400, "no_lines", "`errorLogs` holds no log line")
        if len(lines) > cfg.max_log_lines_per_request:
            raise Rejection(413, "too_many_lines", f"more than {cfg.max_log_lines_per_request} lines"
                                                   " in one request; that is the limit")
        key, records = service.encode(), []
        for number, line in enumerate(lines, 1):
            value = orjson.dumps({"service": service, "level": "error", "message": line, "source": "opsguard"})
            if len(value) > cfg.max_line_bytes:
                raise Rejection(413, "line_too_large", f"line {number} is longer than {cfg.max_line_bytes} bytes")
            records.append((key, value))
    except Rejection as rejection:
        return LogIntakeOutcome.refused(rejection, len(data))
    return LogIntakeOutcome(202, {"status": "accepted", "success": True, "lines": len(records),
                                  "services": [service],
                                  "message": "Alert received; its lines are on logs.raw."},
                            records=records, payload_bytes=len(data))
