"""The one rule for the service a log line belongs to.

Used by every path a line comes in by (`send-logs`, `POST /logs`, the logging handler,
extraction), so a line is counted under the same service however it arrived:

1. the line's own fields: the configured JSON fields in order (service, ECS
   `service.name`, app, application, Kubernetes labels and container name, syslog
   app-name, journald identifier ...), or for a text line the RFC 5424 APP-NAME, the
   RFC 3164 TAG (`billing[4242]:`), a `docker compose logs` prefix, or logfmt
   `service=`/`app=`;
2. the configured mapping (`extract.service_map`) applied to what was found;
3. the record key (shippers that key by service);
4. `unknown`.

Pure: no I/O, no clock; never raises on any input.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Mapping, Sequence

import orjson

__all__ = ["DEFAULT_SERVICE_FIELDS", "SYSLOG_3164", "SYSLOG_5424", "DOCKER_PREFIX", "UNKNOWN", "field_service",
           "resolve", "service_of_line", "syslog_iso", "text_service"]

UNKNOWN = "unknown"

# Where shippers and logging libraries put the service name, most specific first.
# Dotted names are looked up flat first ("service.name" as pino/OTel write it), then
# as a path through nested objects (Vector/Fluent Bit `kubernetes.labels...`).
DEFAULT_SERVICE_FIELDS: tuple[str, ...] = (
    "service",
    "service.name",
    "service_name",
    "app",
    "application",
    "kubernetes.labels.app.kubernetes.io/name",
    "kubernetes.labels.app",
    "kubernetes.container_name",
    "container_name",
    "container.name",
    "appname",
    "syslog.appname",
    "app_name",
    "programname",
    "program",
    "SYSLOG_IDENTIFIER",
)
# Not "name": python-json-logger and structlog write the *logger* name there
# ("app.handlers"); bunyan writes the app name. Bunyan users add it to
# `extract.service_fields`.

SYSLOG_5424 = re.compile(
    r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(.*)", re.S)
SYSLOG_3164 = re.compile(
    r"(?:<(\d{1,3})>)?([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^:\[\s]+)(?:\[\d+\])?: ?(.*)", re.S)
# rsyslog's RSYSLOG_FileFormat / ISO timestamps: "2024-05-01T10:00:00.123+00:00 host app[1]: msg"
SYSLOG_ISO = re.compile(
    r"(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (\S+) ([^:\[\s]+)(?:\[\d+\])?: ?(.*)",
    re.S)
DOCKER_PREFIX = re.compile(r"([\w.-]+)\s+\| (.*)", re.S)  # docker compose: "nginx-1  | ..."
# A level word where the ISO form has its host: "2024-05-01T10:00:00Z ERROR app::db: ..."
# (Rust tracing, Go loggers) is a time, a level and a message, not a syslog line.
_LEVEL_WORDS = frozenset("trace debug info notice warn warning error err critical crit fatal panic alert emerg".split())


def syslog_iso(text: str) -> re.Match[str] | None:
    """`SYSLOG_ISO` unless the word in its host's place is a level."""
    match = SYSLOG_ISO.match(text)
    return None if match is None or match.group(3).lower() in _LEVEL_WORDS else match


_LOGFMT_SERVICE = re.compile(r'(?:^|\s)(?:service|app)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def _lookup(obj: Mapping[str, Any], path: str) -> Any:
    """`path` as a flat key, else as a dotted path through nested objects."""
    value = obj.get(path)
    if value is not None or "." not in path:
        return value
    if path.partition(".")[0] not in obj:
        return None
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        inner = obj.get(".".join(parts[:cut]))
        if isinstance(inner, Mapping):
            found = _lookup(inner, ".".join(parts[cut:]))
            if found is not None:
                return found
    return None


@functools.lru_cache(maxsize=64)
def _heads(fields: tuple[str, ...]) -> frozenset[str]:
    return frozenset({name for name in fields} | {name.partition(".")[0] for name in fields})


def field_service(obj: Mapping[str, Any], fields: Sequence[str] = DEFAULT_SERVICE_FIELDS) -> str:
    """The first configured field of a JSON record holding a service name, or "".

    Bunyan records (`"v": 0`, numeric `level`) name their app in `name`."""
    if not obj.keys().isdisjoint(_heads(tuple(fields))):
        for name in fields:
            value = _lookup(obj, name)
            if isinstance(value, Mapping) and name == "service":  # ECS: {"service": {"name": ...}}
                value = value.get("name")
            if isinstance(value, str) and value.strip():
                return value.strip()
    if obj.get("v") == 0 and isinstance(obj.get("level"), int) and isinstance(obj.get("name"), str):
        return obj["name"].strip()
    return ""


def text_service(text: str) -> str:
    """The service a plain-text line names in its header (syslog, compose, logfmt), or ""."""
    head = text[:1]
    if head == "<" or head.isupper() or head.isdigit():
        # Each header tried only where its first character can start it: RFC 5424 with
        # "<", RFC 3164 with "<" or a capital (the month), the ISO form with "<" or a digit.
        match = SYSLOG_5424.match(text) if head == "<" else None
        if match:
            app = match.group(4)
            return "" if app == "-" else app
        match = SYSLOG_3164.match(text) if head == "<" or head.isupper() else None
        if match is None and (head == "<" or head.isdigit()):
            match = syslog_iso(text)
        if match:
            return match.group(4)
    match = DOCKER_PREFIX.match(text) if "| " in text else None  # (what the pattern needs, found faster)
    if match and len(match.group(1)) < 64:
        inner = match.group(2)
        if inner[:1] != "{":
            return text_service(inner) or match.group(1)
        # As extraction reads it (`formats.parse_text`): the compose service names the
        # service, whatever the JSON's own fields say (bunyan's `name` aside).
        try:
            obj = orjson.loads(inner)
        except orjson.JSONDecodeError:
            obj = None
        return (field_service(obj, ()) if isinstance(obj, dict) else "") or match.group(1)
    if "service=" in text or "app=" in text:  # what the pattern needs, found far faster than by it
        match = _LOGFMT_SERVICE.search(text)
        if match:
            value = match.group(1)
            return value[1:-1] if value.startswith('"') else value
    return ""


def resolve(found: str, key: bytes | None, service_map: Mapping[str, str] | None = None) -> str:
    """Steps 2-4 of the rule: the mapping over what the line names, else the key, else unknown."""
    name = found.strip() if found else ""
    if not name and key:
        try:
            name = key.decode("utf-8").strip()
        except UnicodeDecodeError:
            name = ""
    if not name:
        return UNKNOWN
    if service_map:
        name = service_map.get(name, name)
    return name or UNKNOWN


def service_of_line(line: bytes, key: bytes | None = None, fields: Sequence[str] = DEFAULT_SERVICE_FIELDS,
                    service_map: Mapping[str, str] | None = None) -> str:
    """The whole rule for one raw line (JSON object or text)."""
    found = ""
    if line[:1] == b"{":
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            found = field_service(obj, fields)
    else:
        try:
            found = text_service(line.decode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - never raises on any input
            found = ""
    return resolve(found, key, service_map)
