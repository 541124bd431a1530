"""`POST /logs` as pure steps: a JSON array, NDJSON or text lines -> `logs.raw` records.

Each record is (service as key bytes, the line as value bytes). The service follows the
one rule every path shares (`agents.service_name`): the line's own fields
(`extract.service_fields`) or, for a text line, its syslog/compose/logfmt header, mapped
by `extract.service_map`; else the `service` query parameter, the `X-Logwarden-Service`
header or `default_service`. Must never accept half a request: any bad line refuses the
whole body, so nothing is half-written. Must never hold the event loop: the work is cut
into steps of `BATCH_ITEMS` lines or `BATCH_BYTES` of input (`agents.gateway.steps`), and the line limit
stops the work before the lines past it are parsed.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

import orjson

from agents.gateway.auth import authenticate
from agents.gateway.body import header, lower_headers, media_type
from agents.gateway.config import GatewayConfig
from agents.gateway.jsonbody import BATCH_BYTES, BATCH_ITEMS, array_batches, loads
from agents.gateway.names import checked_service
from agents.gateway.outcomes import LogIntakeOutcome, Rejection
from agents.gateway.steps import Steps, run_steps
from agents.service_name import DEFAULT_SERVICE_FIELDS, field_service, resolve, text_service

__all__ = ["NDJSON_MEDIA_TYPES", "log_intake", "parse_log_intake"]

NDJSON_MEDIA_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                                "application/x-jsonlines", "application/jsonlines"})
_TEXT_MEDIA_TYPES = frozenset({"", "text/plain"})
# Blank lines are skipped inside the regular expression, not one Python step each.
_LINE = re.compile(rb"(?:[ \t\r\x0b\x0c]*+\n)*+([^\n]*+)\n?")
_FIRST = re.compile(rb"\S")
_NEWLINE = b"\n"


def log_intake(headers: Mapping[str, str], data: bytes, cfg: GatewayConfig, *, now: float,
               query: Mapping[str, str] | None = None, fields: Sequence[str] = DEFAULT_SERVICE_FIELDS,
               service_map: Mapping[str, str] | None = None) -> Steps[LogIntakeOutcome]:
    """Check and split one decoded body, in steps. 202: publish `records`, then answer."""
    try:
        lines = _Lines(cfg, fields, service_map or {})
        yield from _read(lower_headers(headers), data, cfg, now, query or {}, lines)
    except Rejection as rejection:
        return LogIntakeOutcome.refused(rejection, len(data))
    return LogIntakeOutcome(202, {"status": "accepted", "lines": len(lines.records),
                                  "services": sorted(lines.services())[:50]},
                            records=lines.records, payload_bytes=len(data))


def parse_log_intake(headers: Mapping[str, str], data: bytes, cfg: GatewayConfig, *, now: float,
                     query: Mapping[str, str] | None = None, fields: Sequence[str] = DEFAULT_SERVICE_FIELDS,
                     service_map: Mapping[str, str] | None = None) -> LogIntakeOutcome:
    """`log_intake` run straight through."""
    return run_steps(log_intake(headers, data, cfg, now=now, query=query, fields=fields,
                                service_map=service_map))


def _read(headers: dict[str, str], data: bytes, cfg: GatewayConfig, now: float, query: Mapping[str, str],
          lines: "_Lines") -> Steps[None]:
    kind = media_type(headers)
    is_json = kind == "application/json" or kind.endswith("+json")
    if not (is_json or kind in NDJSON_MEDIA_TYPES or kind in _TEXT_MEDIA_TYPES):
        raise Rejection(415, "unsupported_media_type",
                        f"Content-Type {kind[:60]!r} is not accepted; send application/json,"
                        " application/x-ndjson or text/plain")
    authenticate("logs", headers, data, now, cfg)
    lines.fallback(query.get("service") or header(headers, cfg.log_service_header) or cfg.default_service)
    first = _FIRST.search(data)
    if is_json or (kind == "" and first is not None and first.group() == b"["):
        for batch in array_batches(data, max_items=cfg.max_log_lines_per_request,
                                   max_item_bytes=cfg.max_line_bytes):
            for value, text in batch:
                lines.add_item(value, text)
            yield
    else:
        yield from lines.add_text(data, strict_json=kind in NDJSON_MEDIA_TYPES)
    if not lines.records:
        raise Rejection(400, "empty", "the body holds no log lines")


class _Lines:
    """The records of one request, with one key bytes object per service."""

    def __init__(self, cfg: GatewayConfig, fields: Sequence[str], service_map: Mapping[str, str]) -> None:
        self.cfg = cfg
        self.fields = fields
        self.service_map = service_map
        self.records: list[tuple[bytes, bytes]] = []
        self._keys: dict[str, bytes] = {}
        self._used: set[bytes] = set()
        self._fallback = b""

    def fallback(self, name: str) -> None:
        self._fallback = resolve(checked_service(name, "request"), None, self.service_map).encode()

    def services(self) -> set[str]:
        return {key.decode() for key in self._used}

    def key(self, found: str, where: Callable[[], str]) -> bytes:
        if not found:
            return self._fallback
        key = self._keys.get(found)
        if key is None:
            key = self._keys[found] = resolve(checked_service(found, where()), None, self.service_map).encode()
        return key

    def add(self, key: bytes, value: bytes) -> None:
        if len(value) > self.cfg.max_line_bytes:
            raise Rejection(413, "line_too_large", f"line {len(self.records) + 1} is longer than"
                                                   f" {self.cfg.max_line_bytes} bytes; split it")
        if len(self.records) >= self.cfg.max_log_lines_per_request:
            raise Rejection(413, "too_many_lines", f"more than {self.cfg.max_log_lines_per_request} lines"
                                                   " in one request; that is the limit")
        self.records.append((key, value))
        self._used.add(key)

    def add_item(self, item: Any, text: bytes | None) -> None:
        """An item of a JSON array: an object (kept as sent, one line) or a text line."""
        number = len(self.records) + 1
        if isinstance(item, dict):
            line = text if text is not None and b"\n" not in text else _compact(item)
            self.add(self.key(field_service(item, self.fields), lambda: f"item {number}"), line)
        elif isinstance(item, str) and item.strip():
            self.add(self.key(text_service(item), lambda: f"item {number}"), item.encode())
        else:
            raise Rejection(400, "bad_line", f"item {number} is not a JSON object or a non-empty string")

    def add_text(self, data: bytes, strict_json: bool) -> Steps[None]:
        step_end, step_lines = BATCH_BYTES, 0
        for match in _LINE.finditer(data):
            line = match.group(1).rstrip(b"\r")
            if not line.strip():
                continue
            self.add(self._text_key(line, strict_json, _line_number(data, match.start(1))), line)
            step_lines += 1
            if match.end() >= step_end or step_lines >= BATCH_ITEMS:
                step_end, step_lines = match.end() + BATCH_BYTES, 0
                yield

    def _text_key(self, line: bytes, strict_json: bool, where: Callable[[], str]) -> bytes:
        if line.lstrip()[:1] != b"{":
            if strict_json:
                raise Rejection(400, "malformed_json", f"{where()} is not a JSON object")
            return self.key(text_service(line.decode("utf-8", "replace")), where)
        try:
            obj = loads(line)
        except orjson.JSONDecodeError as exc:
            if strict_json:
                raise Rejection(400, "malformed_json",
                                f"{where()} is not valid JSON: {exc.msg} (char {exc.pos})") from None
            obj = None
        if isinstance(obj, dict):
            return self.key(field_service(obj, self.fields), where)
        return self._fallback


def _compact(item: dict[str, Any]) -> bytes:
    # A copy of exactly the right size: the bytes orjson 3.13 returns keep a 4 KB
    # buffer each (100k short lines held 400 MB until they were published).
    return memoryview(orjson.dumps(item)).tobytes()


def _line_number(data: bytes, pos: int) -> Callable[[], str]:
    """The words `line N` for a message, counted only when a message is written."""
    return lambda: f"line {data.count(_NEWLINE, 0, pos) + 1}"
