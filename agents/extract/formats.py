"""Log line formats: one decoded record to a `LogLine` (message, level, time, origin).

Handles JSON lines (Vector, Fluent Bit, python-json-logger, structlog, loguru, pino,
bunyan, zap, ECS), logfmt, syslog RFC 3164/5424 and rsyslog's file format, container
runtime files (CRI: containerd, CRI-O) and `docker compose logs`, each around the line the
application wrote, nginx/Apache access and error logs, PostgreSQL/MySQL/Redis server
logs, and plain text with level words. Never raises on any input (a line it cannot
place is plain text), never does I/O, never reads a clock. A line a container runtime
split (CRI tag P, over 16 KiB) is read as its parts. Where `_scan.c` was built, a plain
text line's time, level word and origin (`_plain`) and the requests of access lines and
flat JSON records are read in C, with the Python code here as the reference the tests
hold them to.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from agents.extract.compiled import function
from agents.extract.findings import exception_class
from agents.extract.timestamps import parse_timestamp
from agents.service_name import DOCKER_PREFIX as _DOCKER_PREFIX
from agents.service_name import SYSLOG_3164 as _SYSLOG_3164
from agents.service_name import SYSLOG_5424 as _SYSLOG_5424
from agents.service_name import syslog_iso as _syslog_iso
from agents.service_name import field_service

__all__ = ["LEVEL_RANK", "LogLine", "json_level", "json_time", "json_time_value", "lookup", "normalise_level",
           "parse_json_object", "parse_text", "request_fields", "request_of_record", "requests_of_records",
           "shaped_request"]

# error and above make findings; warning is counted.
LEVEL_RANK = {"": 0, "debug": 1, "info": 2, "warning": 3, "error": 4, "critical": 5, "fatal": 6}

_LEVEL_WORDS = {
    "trace": "debug", "debug": "debug", "dbug": "debug", "d": "debug", "verbose": "debug", "v": "debug",
    "info": "info", "information": "info", "informational": "info", "i": "info", "notice": "info",
    "log": "info", "n": "info", "statement": "info", "detail": "info", "hint": "info", "system": "info",
    "note": "info",
    "warn": "warning", "warning": "warning", "w": "warning",
    "error": "error", "err": "error", "e": "error", "eror": "error", "severe": "error",
    "critical": "critical", "crit": "critical", "c": "critical", "alert": "critical",
    "fatal": "fatal", "f": "fatal", "panic": "fatal", "emerg": "fatal", "emergency": "fatal",
    "dpanic": "fatal",
}
# Syslog severity 0..7 (RFC 5424 table 2).
_SYSLOG_LEVELS = ("fatal", "critical", "critical", "error", "warning", "info", "info", "debug")


@dataclass(slots=True)
class LogLine:
    """What extraction needs from one record, whatever its format."""

    message: str
    level: str = ""
    timestamp: float | None = None
    service: str = ""
    host: str = ""
    stream: str = ""
    logger: str = ""
    method: str = ""
    path: str = ""
    status: int = 0
    exception: str = ""  # a whole stack trace carried inside one record
    error_class: str = ""  # an exception class named in a field of its own ("error": "psycopg2.OperationalError")
    fields: dict[str, Any] = field(default_factory=dict)
    # The message has no header of its own (no time, as a frame or an exception line has
    # none), whatever time its transport stamped on it (a container runtime's, syslog's);
    # None: it has one exactly when `timestamp` is set.
    bare: bool | None = None


def normalise_level(value: object) -> str:
    """A level word, pino/bunyan number, or syslog number to debug..fatal ("" if unknown)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        number = int(value)
        if number >= 10:  # pino/bunyan: 10 trace .. 60 fatal
            return ("debug", "debug", "info", "warning", "error", "fatal")[min(max(number // 10 - 1, 0), 5)]
        return _SYSLOG_LEVELS[number] if 0 <= number <= 7 else ""
    if isinstance(value, dict):  # loguru: {"name": "ERROR", "no": 40}
        return normalise_level(value.get("name"))
    text = str(value).strip().lower()
    if text.isdigit():
        return normalise_level(int(text))
    return _LEVEL_WORDS.get(text, "")


def lookup(obj: dict[str, Any], path: str) -> Any:
    """`path` as a flat key, else as a dotted path through nested objects."""
    value = obj.get(path)
    if value is not None or "." not in path:
        return value
    if path.partition(".")[0] not in obj:  # no object to walk into: the common case
        return None
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        inner = obj.get(head)
        if isinstance(inner, dict):
            found = lookup(inner, ".".join(parts[cut:]))
            if found is not None:
                return found
    return None


class Paths(NamedTuple):
    """Field names with the first segment of dotted ones, so misses cost one dict lookup,
    and every top-level key any of them needs, so a record with none costs one set test."""

    entries: tuple[tuple[str, str | None], ...]
    keys: frozenset[str]


def _paths(names: tuple[str, ...] | list[str]) -> Paths:
    entries = tuple((name, name.partition(".")[0] if "." in name else None) for name in names)
    return Paths(entries, frozenset(name for entry in entries for name in entry if name is not None))


def _first(obj: dict[str, Any], paths: Paths) -> Any:
    """The first non-empty value of `paths` in the record."""
    if obj.keys().isdisjoint(paths.keys):
        return None
    return _first_of(obj, paths.entries)


_MESSAGE = _paths(("message", "msg", "log", "MESSAGE", "@message", "event", "text", "record.message", "short_message"))
_TIME = _paths(("timestamp", "@timestamp", "time", "ts", "date", "datetime", "asctime", "t", "eventTime",
         "record.time", "__REALTIME_TIMESTAMP", "time_local"))
_LEVEL = _paths(("level", "lvl", "severity", "levelname", "log.level", "loglevel", "log_level", "record.level",
          "PRIORITY", "syslog.severity", "level_name", "status_text"))
_HOST = _paths(("host", "hostname", "host.name", "kubernetes.pod_name", "kubernetes.host", "_HOSTNAME", "syslog.hostname"))
_STREAM = _paths(("stream", "kubernetes.container_name", "container_id", "container.id", "source_type"))
_LOGGER = _paths(("logger", "logger_name", "name", "record.name", "log.logger", "caller"))
_EXCEPTION = _paths(("exc_info", "exception", "stack", "stacktrace", "stack_trace", "err.stack", "error.stack",
              "error.stack_trace", "exc_text", "record.exception", "traceback"))
# Fields that may name the exception class of an error record (ECS `error.type`, the
# `error`/`err` of python-json-logger extras, zap and logrus): used only when the value
# is a class name (`findings.exception_class`), never for a message such as "EOF".
_ERROR_CLASS = _paths(("error.type", "error.kind", "error.class", "exception.type", "exception.class", "exc_type",
                       "error_type", "err.type", "error", "err", "exception"))
_METHOD = _paths(("req.method", "request.method", "http.method", "http.request.method", "method", "request_method"))
_PATH = _paths(("req.url", "request.uri", "request.url", "http.path", "url.path", "http.url", "path", "uri", "request_uri"))
# "path" and "uri" alone name a request only beside a method or a status: python-json-logger
# writes the source file's path there ("/usr/lib/python3/.../glogging.py").
_PLAIN_PATH = _paths(("req.url", "request.uri", "request.url", "http.path", "url.path", "http.url", "request_uri"))
_STATUS = _paths(("res.statusCode", "status", "status_code", "http.status_code", "http.response.status_code",
           "response.status", "statusCode"))



# The fields parse_json_object reads, in `_record_shape`'s order.
_RECORD_FIELDS = (_MESSAGE, _EXCEPTION, _LEVEL, _STATUS, _METHOD, _PATH, _PLAIN_PATH, _TIME, _HOST, _STREAM, _LOGGER,
                  _ERROR_CLASS)
_RECORD_SHAPES: dict[tuple[str, ...], tuple[tuple[tuple[str, str | None], ...], ...]] = {}
_SHAPES_KEPT = 4096


def _record_shape(obj: dict[str, Any]) -> tuple[tuple[tuple[str, str | None], ...], ...]:
    """For each of `_RECORD_FIELDS`, the entries that can give this record a value (a
    missing key or dotted head never does), in their order: worked out once per shape of
    keys, so a record's fields are looked up only under the keys it has. `_first_of`
    over a field's entries is `_first` of the field."""
    keys = tuple(obj)
    shape = _RECORD_SHAPES.get(keys)
    if shape is None:
        present = set(keys)
        shape = tuple(tuple((path, head) for path, head in paths.entries
                            if path in present or (head is not None and head in present))
                      for paths in _RECORD_FIELDS)
        if len(_RECORD_SHAPES) < _SHAPES_KEPT:
            _RECORD_SHAPES[keys] = shape
    return shape


def parse_json_object(obj: dict[str, Any], reference: float, service_fields: list[str]) -> LogLine:
    """A decoded JSON log record (any of the shippers and libraries above)."""
    (message_at, exception_at, level_at, status_at, method_at, path_at, plain_path_at, time_at, host_at, stream_at,
     logger_at, error_class_at) = _record_shape(obj)
    message = _first_of(obj, message_at) if message_at else None
    if isinstance(message, dict):  # loguru serialize: {"text": ..., "record": {...}}
        message = message.get("message") or ""
    text = message if isinstance(message, str) else ("" if message is None else str(message))
    service = field_service(obj, service_fields)
    exception = _first_of(obj, exception_at) if exception_at else None
    if isinstance(exception, dict):  # loguru: {"type": ..., "value": ..., "traceback": ...}
        exception = exception.get("traceback") or exception.get("value") or ""
    if exception is not None and not isinstance(exception, str):
        exception = str(exception)
    level = normalise_level(_first_of(obj, level_at)) if level_at else ""
    # request_fields, from the entries the record's keys can fill
    status = _status(_first_of(obj, status_at)) if status_at else 0
    method = _text(_first_of(obj, method_at)).upper() if method_at else ""
    where = path_at if (method or status) else plain_path_at
    path = _text(_first_of(obj, where)) if where else ""
    line = LogLine(
        message=text,
        level=level,
        timestamp=parse_timestamp(_first_of(obj, time_at), reference) if time_at else None,
        service=service if isinstance(service, str) else "",
        host=_text(_first_of(obj, host_at)) if host_at else "",
        stream=_text(_first_of(obj, stream_at)) if stream_at else "",
        logger=_text(_first_of(obj, logger_at)) if logger_at else "",
        method=method,
        path=path,
        status=status,
        exception=exception or "",
        error_class=_error_class_of(obj, error_class_at) if error_class_at else "",
        fields=obj,
    )
    if not line.level and text:
        # Shippers wrap plain lines ({"log": "2024/.. [error] ..."}): read the inner line.
        inner = parse_text(text, reference)
        line.level = inner.level
        line.timestamp = line.timestamp if line.timestamp is not None else inner.timestamp
        line.method, line.path, line.status = line.method or inner.method, line.path or inner.path, line.status or inner.status
        line.message = inner.message
        line.service = line.service or inner.service
    return line


def json_level(obj: dict[str, Any]) -> str:
    """The level `parse_json_object` reads from a record ("" when it has none)."""
    return normalise_level(_first(obj, _LEVEL))


def json_time(obj: dict[str, Any], reference: float) -> float | None:
    """The timestamp `parse_json_object` reads from a record (None when it has none)."""
    return parse_timestamp(_first(obj, _TIME), reference)


def json_time_value(obj: dict[str, Any]) -> Any:
    """The value `json_time` parses: the record's first time field that is not empty."""
    return _first(obj, _TIME)


def request_fields(obj: dict[str, Any]) -> tuple[str, str, int]:
    """(method, path, status) as `parse_json_object` reads them from a record."""
    status = _status(_first(obj, _STATUS))
    method = _text(_first(obj, _METHOD)).upper()
    return method, _text(_first(obj, _PATH if (method or status) else _PLAIN_PATH)), status


def request_of_record(value: bytes) -> tuple[str, str, int]:
    """(method, path, status) of a raw record that is a request (an access-log line, a JSON
    or logfmt record with a status and a path), else ("", "", 0): exactly what `LogLine`
    would carry after a full parse, for lines that are only counted. The usual cases cost
    one regex match or one `orjson.loads`, not a parse (no timestamp, no level words)."""
    try:
        text = value.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return "", "", 0
    if text[:1] == "{":
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError:
            return "", "", 0
        if not isinstance(obj, dict):
            return "", "", 0
        if normalise_level(_first(obj, _LEVEL)):
            return request_fields(obj)
        line = parse_json_object(obj, 0.0, [])  # no level: the wrapped line's own fields count too
    elif '] "' in text and not _DOCKER_PREFIX.match(text):
        match = _ACCESS.match(text)
        if match:
            return match.group(3) or "", match.group(4) or "", int(match.group(5))
        line = parse_text(text, 0.0)
    else:
        line = parse_text(text, 0.0)
    return (line.method, line.path, line.status) if line.status else ("", "", 0)


def requests_of_records(values: list[bytes]) -> list[tuple[str, str, int]]:
    """`request_of_record` of each value, the same answers for fewer microseconds: an
    access line is matched as bytes (no decode) when its first field is one token, and a
    JSON record's request fields are looked up only under the keys it has (the fields
    each record shape can hold are worked out once per shape). Anything else, and every
    line the fast forms do not match, goes through `request_of_record` itself, which
    stays the reference (`tests/unit/extract/test_requests_batch.py`)."""
    out: list[tuple[str, str, int]] = []
    append = out.append
    access, docker = _ACCESS_BYTES.match, _DOCKER_PREFIX.match
    read = _compiled_requests(values) if _compiled_requests is not None and type(values) is list else None
    if read is not None and None not in read:
        return read
    for index, value in enumerate(values):
        if read is not None and (found := read[index]) is not None:  # an access line or flat JSON, read in C
            append(found)
            continue
        head = value[:1]
        if head == b"{":
            try:
                obj = orjson.loads(value)
            except orjson.JSONDecodeError:
                append(request_of_record(value))
                continue
            if not isinstance(obj, dict):
                append(("", "", 0))
                continue
            level, verb, target, code = shaped_request(obj)
            if level:
                append((verb, target, code))
            else:
                append(request_of_record(value))  # no level: read as a wrapped line
        elif (head != b'"' and value.isascii() and (match := access(value))
              and not (b"|" in value and docker(value.decode()))):
            method, target = match.group(3), match.group(4)
            append((method.decode() if method else "", target.decode() if target else "", int(match.group(5))))
        else:
            append(request_of_record(value))
    return out


# `_ACCESS` for a line whose first field (the client) is one token: the lazy `(.+?)`
# of `_ACCESS` (no newline in it) can then only end at the first space, so both give the
# same groups. As bytes, `\S` would also take the separators \x1c-\x1f that `\s` of
# text matches: they are left out, and lines holding one in those fields take the
# reference path. A docker compose prefix ("web-1 | ...") needs a "|": only then tested.
_ACCESS_BYTES = re.compile(
    rb'([^ "\[\n][^ \[\n]*) [^\s\x1c-\x1f]+ [^\s\x1c-\x1f]+ \[([^\]]+)\] '
    rb'"(?:([A-Z]+) ([^\s\x1c-\x1f]+)[^"]*|[^"]*)" (\d{3}) ')
# The same reading of access lines and of flat JSON records, compiled (`_scan.c`; None
# where not built): None for every line it leaves to the Python path above.
_compiled_requests = function("requests")
_compiled_plain = function("plain_line")


def shaped_request(obj: dict[str, Any]) -> tuple[str, str, str, int]:
    """(level, method, path, status) of a decoded JSON record, as `parse_json_object`
    reads them, looked up only under the keys the record has (`_record_shape`); ("", "",
    "", 0) when it has no level."""
    _message, _exception, level, status, method, path, plain_path, *_rest = _record_shape(obj)
    word = normalise_level(_first_of(obj, level)) if level else ""
    if not word:
        return "", "", "", 0
    code = _status(_first_of(obj, status)) if status else 0
    verb = _text(_first_of(obj, method)).upper() if method else ""
    where = path if (verb or code) else plain_path
    return word, verb, _text(_first_of(obj, where)) if where else "", code


def _first_of(obj: dict[str, Any], entries: tuple[tuple[str, str | None], ...]) -> Any:
    """The first non-empty value of these entries (all of a field's, or those
    `_record_shape` kept for the record's keys)."""
    for path, head in entries:
        value = obj.get(path)
        if value is None and head is not None and head in obj:
            value = lookup(obj, path)
        if value is None or value == "" or value == {} or value == []:
            continue
        return value
    return None


def _error_class_of(obj: dict[str, Any], entries: tuple[tuple[str, str | None], ...]) -> str:
    for path, head in entries:
        value = obj.get(path)
        if value is None and head is not None and head in obj:
            value = lookup(obj, path)
        name = exception_class(value)
        if name:
            return name
    return ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None or isinstance(value, (dict, list)) else str(value))


def _status(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if 100 <= value <= 599 else 0
    if isinstance(value, str) and len(value) == 3 and value.isdigit():
        return int(value)
    return 0


# --- text formats -------------------------------------------------------------------

_ACCESS = re.compile(
    r'(?:"[^"]*" )?(.+?) \S+ \S+ \[([^\]]+)\] "(?:([A-Z]+) (\S+)[^"]*|[^"]*)" (\d{3}) ')
_NGINX_ERROR = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)", re.S)
_NGINX_REQUEST = re.compile(r'request: "([A-Z]+) (\S+)')
_APACHE_ERROR = re.compile(r"\[([^\]]+ \d{4})\] \[(?:[\w-]*:)?(\w+)\] (?:\[pid [^\]]*\] )?(?:\[client [^\]]*\] )?(.*)", re.S)
_POSTGRES = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Z]{2,5})?) \[\d+\][^:]*?\s"
    r"(DEBUG\d?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|STATEMENT|DETAIL|HINT|CONTEXT):\s+(.*)", re.S)
_PG_CSV_HEAD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: \w+)?,")
_PG_LEVELS = frozenset(("DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", "LOG", "INFO", "NOTICE", "WARNING",
                        "ERROR", "FATAL", "PANIC"))
_MYSQL = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?) +\d+ \[(\w+)\] (?:\[[^\]]*\] )*(.*)", re.S)
_REDIS = re.compile(r"\d+:[XCSM] (\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d+) ([.*#-]) (.*)", re.S)
_REDIS_LEVELS = {".": "debug", "-": "debug", "*": "info", "#": "warning"}
_LOGFMT_PAIR = re.compile(r'([\w.@/-]+)=("(?:[^"\\]|\\.)*"|\S*)')
_LEADING_TIME = re.compile(
    r"(?:\[)?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?)(?:\])?")
_LEVEL_TOKEN = re.compile(
    r"(?:^|[\s\[<(|])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|CRIT|SEVERE|FATAL|PANIC|ALERT|EMERG"
    r"|trace|debug|info|notice|warn|warning|error|err|critical|crit|fatal|panic)(?=$|[\s\]>):|,])")
_BRACKETED_ORIGIN = re.compile(r"\[([\w.$:/-]{1,120})\] +(?=\S)")
_GLOG = re.compile(r"([IWEF])(\d{4} \d\d:\d\d:\d\d\.\d+)\s+\d+ [\w.]+:\d+\] (.*)", re.S)


def parse_text(text: str, reference: float) -> LogLine:
    """A plain-text line in any of the text formats above."""
    head = text[:1]
    if head == "<":
        line = _syslog(text, reference)
        if line:
            return line
    match = _DOCKER_PREFIX.match(text) if "| " in text else None  # (what the pattern needs, found faster)
    if match and len(match.group(1)) < 64:
        inner = _compose_json(match.group(2), reference) or parse_text(match.group(2), reference)
        inner.service = inner.service or match.group(1)
        return inner
    if '] "' in text:  # access logs: any client form (IPv6, X-Forwarded-For list) before the date
        line = _access(text, reference)
        if line:
            return line
    if head.isdigit():
        if text[10:11] == "T":
            # A container runtime's log file (Kubernetes' /var/log/pods): "<time> stdout F msg".
            line = _cri(text, reference)
            if line:
                return line
            # rsyslog's RSYSLOG_FileFormat (Debian's /var/log/syslog since 12): "2024-05-01T10:00:00.123+00:00 host app[1]: msg"
            line = _syslog(text, reference)
            if line:
                return line
        # nginx's error log has "/" and MySQL's a "T" where these look first; PostgreSQL's
        # a fraction or a blank after the seconds, or its csvlog a quoted field early.
        line = ((_nginx_error(text, reference) if text[4:5] == "/" else None)
                or (_postgres(text, reference) if text[19:20] in (".", " ") or ',"' in text[:40] else None)
                or (_mysql(text, reference) if text[10:11] == "T" else None) or _redis(text, reference))
        if line:
            return line
    elif head == "[":
        line = _apache_error(text, reference)
        if line:
            return line
    elif head.isupper():
        line = _syslog(text, reference) or _glog(text, reference)
        if line:
            return line
    if "=" in text and ("level=" in text or "msg=" in text or "lvl=" in text):
        line = _logfmt(text, reference)
        if line:
            return line
    return _plain(text, reference)


# The CRI logging format (containerd, CRI-O): time, stream, tag (F: a full line, P: part
# of one the runtime split), the line as the container wrote it.
_CRI = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([PF])\S* ?(.*)", re.S)


def _cri(text: str, reference: float) -> LogLine | None:
    match = _CRI.match(text)
    if match is None:
        return None
    stamp, stream, _tag, message = match.groups()
    line = _compose_json(message, reference) or parse_text(message, reference)
    # A line without a time of its own stays bare (a frame). The runtime's time places
    # every line: it has a zone, where an application may write local time without one.
    line.bare = line.timestamp is None
    line.timestamp = parse_timestamp(stamp, reference)
    line.stream = line.stream or stream
    return line


def _compose_json(text: str, reference: float) -> LogLine | None:
    # `docker compose logs`: "caddy  | {json}"; the compose service names the service.
    if text[:1] != "{":
        return None
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return parse_json_object(obj, reference, []) if isinstance(obj, dict) else None


def _syslog(text: str, reference: float) -> LogLine | None:
    match = _SYSLOG_5424.match(text)
    if match:
        pri, stamp, host, app, _proc, _msgid, message = match.groups()
        return _syslog_line(message, _SYSLOG_LEVELS[int(pri) & 7], _nil(host), _nil(app), stamp, reference)
    match = _SYSLOG_3164.match(text) or _syslog_iso(text)
    if match:
        pri, stamp, host, app, message = match.groups()
        # Without PRI the severity is unknown: read level words in the message.
        return _syslog_line(message, _SYSLOG_LEVELS[int(pri) & 7] if pri else "", host, app, stamp, reference)
    return None


def _syslog_line(message: str, level: str, host: str, app: str, stamp: str, reference: float) -> LogLine:
    """A syslog message; one that starts with a header of its own (an application's
    "2023-11-14 22:14:01,000 ERROR [shop.api] ...") is read like a plain line, and one
    without is bare (a frame, an exception line), whatever time syslog stamped on it.
    Syslog's time places it (the application's may be local time without a zone)."""
    inner = _plain(message, reference)  # without a time of its own: the message as it is, its level word
    return LogLine(message=inner.message, level=level or inner.level, host=host, service=app, logger=inner.logger,
                   timestamp=parse_timestamp(stamp, reference), bare=inner.timestamp is None)


def _nil(value: str) -> str:
    return "" if value == "-" else value


def _access(text: str, reference: float) -> LogLine | None:
    match = _ACCESS.match(text)
    if not match:
        return None
    client, stamp, method, target, status = match.groups(default="")
    code = int(status)
    level = "error" if code >= 500 else "info"
    return LogLine(message=text, level=level, timestamp=parse_timestamp(stamp, reference),
                   method=method, path=target, status=code)


def _nginx_error(text: str, reference: float) -> LogLine | None:
    match = _NGINX_ERROR.match(text)
    if not match:
        return None
    stamp, level, message = match.groups()
    request = _NGINX_REQUEST.search(message)
    return LogLine(message=message, level=normalise_level(level),
                   timestamp=parse_timestamp(stamp, reference),
                   method=request.group(1) if request else "", path=request.group(2) if request else "")


def _apache_error(text: str, reference: float) -> LogLine | None:
    match = _APACHE_ERROR.match(text)
    if not match:
        return None
    stamp, level, message = match.groups()
    return LogLine(message=message, level=normalise_level(level), timestamp=parse_timestamp(stamp, reference))


def _postgres(text: str, reference: float) -> LogLine | None:
    match = _POSTGRES.match(text)
    if not match:
        return _postgres_csv(text, reference)
    stamp, level, message = match.groups()
    return LogLine(message=message, level=normalise_level(level.rstrip("0123456789")),
                   timestamp=parse_timestamp(stamp, reference), service="postgresql")


def _postgres_csv(text: str, reference: float) -> LogLine | None:
    # csvlog: time,user,db,pid,client,session,line,command,start,vxid,xid,LEVEL,SQLSTATE,"message",...
    if ',"' not in text[:40] or not _PG_CSV_HEAD.match(text):
        return None
    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        return None
    if len(fields) < 14 or fields[11] not in _PG_LEVELS:
        return None
    return LogLine(message=fields[13], level=normalise_level(fields[11].rstrip("0123456789")),
                   timestamp=parse_timestamp(fields[0], reference), service="postgresql",
                   fields={"sqlstate": fields[12]})


def _mysql(text: str, reference: float) -> LogLine | None:
    match = _MYSQL.match(text)
    if not match:
        return None
    stamp, level, message = match.groups()
    return LogLine(message=message, level=normalise_level(level), timestamp=parse_timestamp(stamp, reference),
                   service="mysql")


def _redis(text: str, reference: float) -> LogLine | None:
    match = _REDIS.match(text)
    if not match:
        return None
    stamp, marker, message = match.groups()
    return LogLine(message=message, level=_REDIS_LEVELS[marker], timestamp=parse_timestamp(stamp, reference),
                   service="redis")


def _glog(text: str, reference: float) -> LogLine | None:
    match = _GLOG.match(text)
    if not match:
        return None
    letter, _stamp, message = match.groups()
    return LogLine(message=message, level=normalise_level(letter.lower()))


def _logfmt(text: str, reference: float) -> LogLine | None:
    pairs = {k: v[1:-1].replace('\\"', '"') if v.startswith('"') else v for k, v in _LOGFMT_PAIR.findall(text)}
    if not pairs:
        return None
    message = pairs.get("msg") or pairs.get("message") or ""
    error = pairs.get("error") or pairs.get("err") or ""
    line = LogLine(
        message=f"{message}: {error}" if message and error else (message or error or text),
        level=normalise_level(pairs.get("level") or pairs.get("lvl") or pairs.get("severity")),
        timestamp=parse_timestamp(pairs.get("time") or pairs.get("ts") or pairs.get("t"), reference),
        service=pairs.get("service") or pairs.get("app") or "",
        host=pairs.get("host", ""),
        logger=pairs.get("logger", ""),
        method=pairs.get("method", "").upper(),
        path=pairs.get("path") or pairs.get("uri") or "",
        status=_status(pairs.get("status")),
        fields=dict(pairs),
    )
    return line


def _plain(text: str, reference: float) -> LogLine:
    if _compiled_plain is not None:
        parts = _compiled_plain(text)  # the same reading, in one pass (None: not ASCII, or Python decides)
        if parts is not None:
            start, level_at, level_end, logger_at, logger_end, timestamp = parts
            level = normalise_level(text[level_at:level_end]) if level_at >= 0 else ""
            return LogLine(message=text[start:], level=level, logger=text[logger_at:logger_end], timestamp=timestamp)
    stamp = _LEADING_TIME.match(text)
    message = text
    if stamp:
        message = text[stamp.end():].lstrip(" \t-|")
    level_match = _LEVEL_TOKEN.search(message, 0, 160)
    level = ""
    logger = ""
    if level_match:
        level = normalise_level(level_match.group(1))
        if stamp and level_match.start() < 3:  # "<time> ERROR [main] Foo - text": the text is the message
            message = message[level_match.end():].lstrip(" \t]:-|")
            # "[payments.db] pool exhausted" (Python's "[%(name)s]", log4j's "[%t]"): the
            # bracket names where the line came from, so templates read as the message.
            origin = _BRACKETED_ORIGIN.match(message)
            if origin:
                logger, message = origin.group(1), message[origin.end():]
    return LogLine(message=message, level=level, logger=logger,
                   timestamp=parse_timestamp(stamp.group(1), reference) if stamp else None)
