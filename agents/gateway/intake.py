"""`POST /logs` as a pure function: a JSON array, NDJSON or text lines -> `logs.raw` records.

Each record is (service as key bytes, the line as value bytes). The service comes from
the line's own `service` field (or ECS `service.name`), else the `service` query
parameter, else the `X-Logwarden-Service` header, else `default_service`. Must never
accept half a request: any bad line refuses the whole body, so nothing is half-written.
"""

from __future__ import annotations

from typing import Any, Mapping

import orjson

from agents.gateway.auth import authenticate
from agents.gateway.body import decoded_body, header, lower_headers, media_type
from agents.gateway.config import GatewayConfig
from agents.gateway.outcomes import LogIntakeOutcome, Rejection
from agents.gateway.webhook import parse_json

__all__ = ["NDJSON_MEDIA_TYPES", "parse_log_intake"]

NDJSON_MEDIA_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                                "application/x-jsonlines", "application/jsonlines"})
_TEXT_MEDIA_TYPES = frozenset({"", "text/plain"})
MAX_SERVICE_CHARS = 200


def parse_log_intake(headers: Mapping[str, str], body: bytes, cfg: GatewayConfig, *,
                     now: float, query: Mapping[str, str] | None = None) -> LogIntakeOutcome:
    """Check and split one `POST /logs` body. 202: publish `records` to `logs.raw`, then answer."""
    try:
        records = _records(lower_headers(headers), body, cfg, now, query or {})
    except Rejection as rejection:
        return LogIntakeOutcome(rejection.status, rejection.body(), reason=rejection.reason,
                                payload_bytes=len(body), headers=rejection.headers)
    services = sorted({key.decode() for key, _ in records})
    return LogIntakeOutcome(202, {"status": "accepted", "lines": len(records), "services": services[:50]},
                            records=records, payload_bytes=len(body))


def _records(headers: dict[str, str], body: bytes, cfg: GatewayConfig, now: float,
             query: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    data = decoded_body(headers, body, cfg.max_body_bytes, cfg.max_decompressed_bytes)
    kind = media_type(headers)
    is_json = kind == "application/json" or kind.endswith("+json")
    if not (is_json or kind in NDJSON_MEDIA_TYPES or kind in _TEXT_MEDIA_TYPES):
        raise Rejection(415, "unsupported_media_type",
                        f"Content-Type {kind[:60]!r} is not accepted; send application/json,"
                        " application/x-ndjson or text/plain")
    authenticate("logs", headers, data, now, cfg)
    fallback = _valid_service(query.get("service") or header(headers, cfg.log_service_header)
                              or cfg.default_service, "request")
    if is_json or (kind == "" and data.lstrip()[:1] == b"["):
        items = parse_json(data)
        lines = [_json_item(item, n, fallback) for n, item in
                 enumerate(items if isinstance(items, list) else [items], 1)]
    else:
        lines = _text_lines(data, fallback, strict_json=kind in NDJSON_MEDIA_TYPES)
    if not lines:
        raise Rejection(400, "empty", "the body holds no log lines")
    if len(lines) > cfg.max_log_lines_per_request:
        raise Rejection(413, "too_many_lines",
                        f"{len(lines)} lines in one request; the limit is {cfg.max_log_lines_per_request}")
    return lines


def _valid_service(value: str, where: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_SERVICE_CHARS or not value.isprintable():
        raise Rejection(400, "bad_service",
                        f"the service name from the {where} must be 1-{MAX_SERVICE_CHARS} printable characters")
    return value


def _service_of(obj: dict[str, Any], fallback: str, where: str) -> str:
    service = obj.get("service")
    if isinstance(service, dict):  # ECS: {"service": {"name": "checkout"}}
        service = service.get("name")
    if isinstance(service, str) and service.strip():
        return _valid_service(service, where)
    return fallback


def _json_item(item: Any, number: int, fallback: str) -> tuple[bytes, bytes]:
    if isinstance(item, dict):
        service = _service_of(item, fallback, f"item {number}")
        return service.encode(), orjson.dumps(item)
    if isinstance(item, str) and item.strip():
        return fallback.encode(), item.encode("utf-8", "surrogateescape")
    raise Rejection(400, "bad_line", f"item {number} is not a JSON object or a non-empty string")


def _text_lines(data: bytes, fallback: str, strict_json: bool) -> list[tuple[bytes, bytes]]:
    out = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw.rstrip(b"\r")
        if not line.strip():
            continue
        service = fallback
        if line.lstrip()[:1] == b"{":
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if strict_json:
                    raise Rejection(400, "malformed_json",
                                    f"line {number} is not valid JSON: {exc.msg} (char {exc.pos})") from None
                obj = None
            if isinstance(obj, dict):
                service = _service_of(obj, fallback, f"line {number}")
        elif strict_json:
            raise Rejection(400, "malformed_json", f"line {number} is not a JSON object")
        out.append((service.encode(), line))
    return out
