"""Classification of one log line: is it an error, a warning, or neither, and what request
it is about; and the lines of a message that carries a whole exception.

The level a line states (a field, a syslog PRI, a level word in its header) wins; a line
without one is read for level words and exception headlines. Pure: no I/O, no clock,
never raises on any text.
"""

from __future__ import annotations

import re

from agents.extract.formats import LEVEL_RANK, LogLine
from agents.extract.traces import is_continuation, starts_exception

__all__ = ["Verdict", "classify", "request_of", "split_message"]

# Level words in a line without a level: upper case, or followed by ":"/"=" ("error:
# connection refused"). A bare "no exception" in prose is not an error.
_ERROR_WORDS = re.compile(
    r"\b(?:ERROR|FATAL|CRITICAL|PANIC|EXCEPTION|SEGFAULT)\b|(?i:\b(?:error|exception|fatal|panic|critical)\s?[:=])"
    r"|(?i:^(?:error|fatal|exception)\b)")
_WARNING_WORDS = re.compile(r"\bWARN(?:ING)?\b|(?i:\bwarn(?:ing)?\s?[:=])|(?i:^warn(?:ing)?\b)")
# A stack frame with no exception line before it (the head was lost or is prose):
# still one exception.
_ORPHAN_FRAME = re.compile(r"\s+(?:at \S|File \")")
# A process died, said without a level word (the kernel's OOM killer, a shell reporting a
# segfault): an error, which the fast path of fatal errors then picks up (`accounts.py`).
_CRASH_WORDS = re.compile(r"(?i)out of memory: kill|segmentation fault|\bsigsegv\b")
# "POST /v1/payments/4548 failed": the request an error line or exception headline names.
_REQUEST_IN_TEXT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^\s\"'?#]*)")
_EXCEPTION_HEAD = re.compile(
    r"(?:Traceback \(most recent call last\)|Exception in thread |\bpanic: |Unhandled [Ee]xception"
    r"|(?:[A-Za-z_$][\w$]*(?:\.|::))*[A-Z][\w$]*(?:Exception|Error)(?::|$|\s\())")

_WARNING = LEVEL_RANK["warning"]
_ERROR = LEVEL_RANK["error"]


class Verdict:
    """What a line is: `error` (with its level word), `warning`, or neither (`level` "")."""

    __slots__ = ("level", "warning")

    def __init__(self, level: str = "", warning: bool = False) -> None:
        self.level, self.warning = level, warning


_NEITHER = Verdict()
_WARNED = Verdict(warning=True)


def classify(line: LogLine, message: str) -> Verdict:
    level = "error" if line.status >= 500 else (line.level or infer_level(message))
    rank = LEVEL_RANK.get(level, 0)
    if rank == _WARNING:
        return _WARNED
    if rank >= _ERROR:
        return Verdict(level)
    if line.level == "" and (_EXCEPTION_HEAD.search(message, 0, 300) or _ORPHAN_FRAME.match(message)
                             or _CRASH_WORDS.search(message, 0, 400)):
        return Verdict("error")
    return _NEITHER


def infer_level(message: str) -> str:
    if _ERROR_WORDS.search(message, 0, 400):
        return "error"
    if _WARNING_WORDS.search(message, 0, 400):
        return "warning"
    return ""


def request_of(line: LogLine, message: str) -> tuple[str, str]:
    """The request a line is about: its own fields, else "POST /v1/x" named in its text."""
    if line.method or line.path:
        return line.method, line.path
    request = _REQUEST_IN_TEXT.search(message, 0, 300)
    return request.groups() if request else ("", "")


def split_message(message: str) -> list[str] | None:
    """The lines of a message that carries a whole exception (real or escaped newlines),
    or None when it is not one (a multi-line message that is prose, say)."""
    escaped = "\n" not in message
    parts = [p.rstrip("\r") for p in message.split("\\n" if escaped else "\n")]
    while parts and not parts[-1].strip():
        parts.pop()
    if len(parts) < 2:
        return None
    if escaped:
        parts = [p.replace("\\t", "\t") for p in parts]
    rest = parts[1:]
    if (starts_exception(parts[0]) or any(starts_exception(p) for p in rest[:3])
            or sum(1 for p in rest if is_continuation(p, parts[:1])) >= max(1, len(rest) // 2)):
        return parts
    return None
