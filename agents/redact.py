"""Redaction of secrets and personal data from untrusted text (log lines, payloads).

Used before anything leaves the process: window samples, AI prompts, notifications.
Must never raise on any input and never grow without bound.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [REDACTED]"),
    (re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)\s*[=:]\s*[^\s,;&\"']+"), r"\1=[REDACTED]"),
    (re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), "[EMAIL]"),
]


def redact(text: str, *, mask_ips: bool = False) -> str:
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text
