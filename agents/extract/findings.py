"""Findings from log lines: endpoint normalisation, error type, template, fingerprint.

Fingerprints are `fp1:` + a hash of the sorted identifying fields (service, endpoint,
error type, template), so the same error gets the same fingerprint on every worker and
after every replay. Never includes raw (unredacted) text in anything but samples, and
samples are redacted here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import orjson

from agents.extract.config import ExtractConfig
from agents.extract.templates import mask_message, template_id
from agents.redact import redact

__all__ = ["IgnoreRules", "NO_MESSAGE", "Signal", "fingerprint", "normalise_endpoint", "sample_text"]

FINGERPRINT_VERSION = "fp1"
NO_MESSAGE = "(error without a message)"
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{12,}|[\w-]*\d[\w-]*\d[\w-]*|[A-Za-z0-9_-]{20,})$")


def normalise_endpoint(method: str, target: str) -> str:
    """"GET /users/42?x=1" -> "GET /users/{id}": ids, hashes and tokens become {id}."""
    if not method and not target:
        return ""
    path = target.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    route = "/".join(segments) or "/"
    return f"{method.upper()} {route}".strip()


def fingerprint(service: str, endpoint: str, error_type: str, template: str) -> str:
    fields = {"endpoint": endpoint, "error_type": error_type, "service": service, "template": template}
    digest = hashlib.blake2b(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS), digest_size=10).hexdigest()
    return f"{FINGERPRINT_VERSION}:{digest}"


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

    @classmethod
    def from_message(cls, service: str, level: str, at: float, message: str, *, method: str = "",
                     path: str = "", status: int = 0, logger: str = "") -> "Signal":
        endpoint = normalise_endpoint(method, path) if (method or path) else ""
        if status >= 500:
            template = f"{endpoint} -> {status}" if endpoint else f"HTTP {status}"
            return cls(service, endpoint, f"HTTP {status}", template, level, at, message, logger)
        # The template is what people read when there is no exception class or status
        # (the error_type is then only an id): never leave it empty.
        template = mask_message(message[:2000]) or NO_MESSAGE
        return cls(service, endpoint, template_id(template), template, level, at, message, logger)

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
