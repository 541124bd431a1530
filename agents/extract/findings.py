"""Findings from log lines: endpoint normalisation, error type, template, title, fingerprint.

What people read is never a machine token: a line without an exception class or HTTP
status is typed by its own words (`readable_type`: "upstream connection refused", "could
not create order"), and `title` is one real occurrence, redacted. The template (masked
with `<*>`) is kept for machines. Fingerprints are `fp1:` + a hash of the sorted identifying fields (service, endpoint,
error type, template), so the same error gets the same fingerprint on every worker and
after every replay. Never includes raw (unredacted) text in anything but samples, and
samples are redacted here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

import orjson

from agents.extract.compiled import function
from agents.extract.config import ExtractConfig
from agents.extract import templates
from agents.extract.templates import WILDCARD, mask_message
from agents import redact as redaction
from agents.redact import redact

__all__ = ["IgnoreRules", "NO_MESSAGE", "Signal", "exception_class", "fingerprint", "forget", "normalise_endpoint",
           "normalise_endpoints", "normalise_endpoints_python", "readable_type", "sample_text", "title_of"]

FINGERPRINT_VERSION = "fp1"
NO_MESSAGE = "(error without a message)"
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{12,}|[\w-]*\d[\w-]*\d[\w-]*|[A-Za-z0-9_-]{20,})$")
TITLE_CHARS = 160
TYPE_WORDS = 8
# Failures the operating system, resolvers and TLS name the same way in every language
# (strerror texts and their usual variants): the type of a line that names one.
_FAILURE = re.compile(
    r"(?i)\b(connection refused|connection reset(?: by peer)?|connection (?:timed out|closed)|timed out|timeout"
    r"|no route to host|host (?:is )?unreachable|network is unreachable|broken pipe|no such file or directory"
    r"|permission denied|access denied|too many open files|no space left on device|out of memory"
    r"|name or service not known|temporary failure in name resolution|could not resolve host|deadlock(?: detected)?"
    r"|certificate (?:verify failed|has expired)|too many connections|disk full|authentication failed)\b")
# What a failure was about: "while connecting to upstream", "connect to server".
_TARGET = re.compile(r"(?i)\b(?:connect(?:ing)? to|to|from)\s+([a-z][a-z_-]{2,})\b(?!\s*[=(])")
_NOT_TARGETS = frozenset({"the", "and", "or", "be", "open", "get", "read", "write", "send"})
# A phrase whose object is a value ("to <*>", "with key <*>", "for user <*>") goes with
# it, so what is left reads as a sentence: "login failed", not "login to failed with key".
# "to" takes no word between (in "failed to process <*>" the verb is the point).
_VALUE_PHRASE = re.compile(
    r"(?i)\s*\b(?:to|(?:with|for|from|at|on|in|of|by|into|via|after|using|as)(?:\s+[a-z_-]+)?)"
    r"\s+[\"'(\[]?<\*>[\"')\]]?")
# Where a message's first clause ends: what follows is another statement (often
# attacker-chosen text in a logged value), not the error's name.
_CLAUSE_END = re.compile(r"\s*(?:;|\s\|\s|\.\s+(?=[A-Z]))")
# An exception class named in a field of its own (`"error": "psycopg2.OperationalError"`):
# a dotted or `::` path ending in a class name, or a bare name ending like one.
_CLASS_NAME = re.compile(
    r"(?:[A-Za-z_$][\w$]*(?:\.|::))+[A-Z][\w$]*|[A-Z][\w$]*(?:Error|Exception|Exit|Fault|Failure|Timeout|Panic)")
_REQUEST = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(?:<\*>|/\S*)\s*(?:->\s*\S+)?")
# `key=<*>` anywhere; `key: <*>` only as a field of a list ("client: <*>, server: <*>"),
# so "File does not exist: <*>" keeps its verb.
_PAIR = re.compile(r"[\w.-]+\s?=\s?(?:<\*>|\"<\*>\"|'<\*>'|(?=,))"
                   r"|(?:^|(?<=[,;(]\s)|(?<=[,;(]))[\w.-]+:\s?(?:<\*>|\"<\*>\"|'<\*>'|(?=,))")
_WILDCARDS = re.compile(r"[(\[{]?\s*<\*>\s*[)\]}]?")
_EMPTY_BRACKETS = re.compile(r"[(\[{][\s,;:]*[)\]}]|[\"'`]\s*[\"'`]")
_LEAD = re.compile(r"(?i)^(?:[\s:,;.-]|(?:failed|error|exception)\s*:)+")
_PUNCT_RUNS = re.compile(r"\s*([,;:])(?:\s*[,;:])+|\s+([,;:.])")


def normalise_endpoint(method: str, target: str) -> str:
    """"GET /users/42?x=1" -> "GET /users/{id}": ids, hashes and tokens become {id}."""
    if not method and not target:
        return ""
    path = target.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    route = _ID_SEGMENTS.sub("/{id}", "/" + path)[1:] or "/"
    return f"{method.upper()} {route}".strip()


# Every path segment `_ID_SEGMENT` matches as a whole, in one pass over the path (which
# gets a "/" in front, so every segment starts after one: a literal to scan for).
_ID_SEGMENTS = re.compile(r"/(?:" + _ID_SEGMENT.pattern[4:-2] + r")(?=/|$)")


def normalise_endpoints(pairs: list[tuple[str, str]]) -> list[str]:
    """`normalise_endpoint` of each (method, target): the query cut and the ids replaced
    in one regex pass each over all the paths joined, not two calls per path. Targets
    with a scheme ("://") or a NUL take the reference function."""
    if not pairs:
        return []
    if _compiled_routes is not None and type(pairs) is list:
        routes = _compiled_routes(pairs)  # None where the C leaves it to Python
        if None not in routes:
            return routes
        return [route if route is not None else normalise_endpoint(method, target)
                for route, (method, target) in zip(routes, pairs)]
    return normalise_endpoints_python(pairs)


def normalise_endpoints_python(pairs: list[tuple[str, str]]) -> list[str]:
    """`normalise_endpoints` without the compiled routes: the reference they are tested against."""
    if not pairs:
        return []
    joined = "/" + "\x00/".join([target for _method, target in pairs])
    if joined.count("\x00") != len(pairs) - 1:
        return [normalise_endpoint(method, target) for method, target in pairs]
    joined = _QUERY_TAIL.sub("", joined)
    if "://" in joined:
        return [normalise_endpoint(method, target) for method, target in pairs]
    routes = _ID_SEGMENTS_JOINED.sub("/{id}", joined).split("\x00")
    return [("" if not method and not target else f"{method.upper()} {route[1:] or '/'}".strip())
            for (method, target), route in zip(pairs, routes)]


# For `normalise_endpoints`: paths joined with NULs, each after a "/" (no part of a path
# pattern matches a NUL, so no match spans two paths).
_QUERY_TAIL = re.compile(r"[?#][^\x00]*")
# `normalise_endpoint` compiled (`_scan.c`; None where not built).
_compiled_routes = function("routes")
# Redaction's plan, compiled with the rest of extraction's C (`_scan.redact_plan`): this
# stage redacts every finding's title and samples, and owns the extension.
redaction.use_compiled(function("redact_setup"), function("redact_plan"))
_ID_SEGMENTS_JOINED = re.compile(_ID_SEGMENTS.pattern.replace("(?=/|$)", "(?=/|\x00|$)"))


@lru_cache(maxsize=8192)  # an error recurs line after line
def fingerprint(service: str, endpoint: str, error_type: str, template: str) -> str:
    fields = {"endpoint": endpoint, "error_type": error_type, "service": service, "template": template}
    digest = hashlib.blake2b(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS), digest_size=10).hexdigest()
    return f"{FINGERPRINT_VERSION}:{digest}"


@lru_cache(maxsize=8192)  # a template recurs with every line of its error
def readable_type(template: str) -> str:
    """A readable error type for a message without an exception class or status: the
    failure it names, else its first words (values, request and `key=value` pairs left
    out). A function of the template only, so it never splits what the template groups."""
    return _readable_type(template)


def forget() -> None:
    """Drop the fingerprints, types and templates kept so far (a benchmark's runs each
    start without them)."""
    fingerprint.cache_clear()
    readable_type.cache_clear()
    templates.forget()


def _readable_type(template: str) -> str:
    if template == NO_MESSAGE:
        return "error without a message"
    failure = _FAILURE.search(template)
    if failure:
        phrase = failure.group(1).lower()
        target = next((m.group(1).lower() for m in _TARGET.finditer(template)
                       if m.group(1).lower() not in _NOT_TARGETS and m.group(1).lower() not in phrase), "")
        return f"{target} {phrase}" if target else phrase
    text = _REQUEST.sub(" ", template)
    text = _VALUE_PHRASE.sub("", text)
    clause = _CLAUSE_END.search(text)
    if clause and text[:clause.start()].strip(" ,;:-<*>"):
        text = text[:clause.start()]
    text = _PAIR.sub(" ", text) if ("=" in text or ": " in text) and WILDCARD in text else text
    text = _WILDCARDS.sub(" ", text)
    text = _EMPTY_BRACKETS.sub(" ", text)
    text = _PUNCT_RUNS.sub(lambda m: m.group(1) or m.group(2), " ".join(text.split()))
    text = _LEAD.sub("", text).strip(" ,;:-")
    words = text.split()
    if not words:
        return "error"
    out = " ".join(words[:TYPE_WORDS]).rstrip(" ,;:.-(")
    return out[:1].lower() + out[1:] if out[1:2].islower() or len(out) == 1 else out


def exception_class(value: object) -> str:
    """`value` when it names an exception class ("psycopg2.OperationalError",
    "java.net.ConnectException", "TimeoutError"), else ""."""
    if not isinstance(value, str) or len(value) > 200:
        return ""
    value = value.strip()
    return value if _CLASS_NAME.fullmatch(value) else ""


def title_of(message: str) -> str:
    """What a person reads first: one real occurrence (its first line), redacted."""
    first = message.strip().split("\n", 1)[0].strip()
    first = redact(first[: TITLE_CHARS * 2])
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1].rstrip() + "…"


def sample_text(text: str, limit: int) -> str:
    """A redacted, bounded sample of the raw text."""
    return redact(text[:limit])


@dataclass(slots=True)
class Signal:
    """One error occurrence, ready to be counted under its fingerprint."""

    service: str
    endpoint: str
    error_type: str
    template: str
    level: str
    at: float
    sample: str
    logger: str = ""
    headline: str = ""  # the line people read first, raw: `title` redacts it when a finding is made

    @property
    def title(self) -> str:
        """One occurrence, redacted: what people read. Computed only for the first
        occurrence of a finding (redaction is the costly part)."""
        return title_of(self.headline) if self.headline else NO_MESSAGE

    @classmethod
    def from_message(cls, service: str, level: str, at: float, message: str, *, method: str = "",
                     path: str = "", status: int = 0, logger: str = "", error_class: str = "",
                     endpoint: str | None = None) -> "Signal":
        """`error_class`: the exception class the record names in a field of its own; it
        types the finding (a message's words only type a line that names none)."""
        if endpoint is None:  # `normalise_endpoint(method, path)`, where the caller has it
            endpoint = normalise_endpoint(method, path) if (method or path) else ""
        if status >= 500:
            template = f"{endpoint} -> {status}" if endpoint else f"HTTP {status}"
            title = f"{endpoint} returned {status}" if endpoint else f"HTTP {status}"
            return cls(service, endpoint, f"HTTP {status}", template, level, at, message, logger, title)
        template = mask_message(message[:2000]) or NO_MESSAGE
        return cls(service, endpoint, error_class or readable_type(template), template, level, at, message, logger,
                   message)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.service, self.endpoint, self.error_type, self.template)


class IgnoreRules:
    """"Errors we have explicitly ignored": by regex on the message, logger, fingerprint."""

    def __init__(self, cfg: ExtractConfig) -> None:
        self._pattern = re.compile("|".join(f"(?:{p})" for p in cfg.ignore_patterns)) if cfg.ignore_patterns else None
        self._loggers = tuple(cfg.ignore_loggers)
        self._fingerprints = frozenset(cfg.ignore_fingerprints)

    def ignores(self, signal: Signal, fp: str) -> bool:
        if fp in self._fingerprints:
            return True
        if self._loggers and signal.logger and any(
                signal.logger == name or signal.logger.startswith(name + ".") for name in self._loggers):
            return True
        return bool(self._pattern and (self._pattern.search(signal.sample) or self._pattern.search(signal.template)))
