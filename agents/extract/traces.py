"""Multi-line exceptions: join lines that arrive one per record, and name what was thrown.

`TraceJoiner` keeps one open block per (service, host, stream); a block starts at an
error line and takes every following frame-like line of the same stream. An error line
without a stack of its own ("ERROR ... POST /v1/x failed") followed by an exception
line that carries no timestamp ("psycopg2.OperationalError: ...", "panic: ...") is one
block too: the first line is its headline (which request), the rest what was thrown.
`describe_trace`
reads a joined block (or a stack carried inside one JSON record) and returns the
exception type and its top frames, for Python, Java, Node.js, Go, Ruby, C#, PHP and Dart.
A block that may still get its exception (an error line alone, a bare "Traceback (most
recent call last):", a stack not yet named) waits up to `JOIN_GAP_S` of event time, so an
exception that arrives a second later, in the next batch, still joins its error line; an
exception banner alone is never a finding.
Never unbounded: blocks are cut at a line limit and the number of open blocks is capped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from agents.extract.findings import Signal, normalise_endpoint, readable_type
from agents.extract.templates import mask_message

__all__ = ["JOIN_GAP_S", "OpenTrace", "TraceInfo", "TraceJoiner", "awaits_exception", "describe_trace",
           "exception_template", "is_banner", "is_continuation", "signal_of_block", "starts_exception"]

# How long (event time) an error line waits for the exception it may have logged. Kept
# within the default allowed lateness (5 s), so the block is counted before its window closes.
JOIN_GAP_S = 4.0

# Lines that continue a block: indented frames, "Caused by", Go goroutine dumps, PHP
# and Dart "#0" frames, blank separators, Python chained-exception banners.
_CONTINUATION = re.compile(
    r"(?:\s+\S|\s*$|Caused by:|Traceback \(|During handling of|The above exception|Stack trace:|#\d+\s"
    r"|goroutine \d+ \[|created by |\[signal |--- End of|\{main\}|[\w.$/*()\[\]-]+\([^()]*\)\s*$"
    r"|\.\.\. \d+ (?:more|common frames omitted)|Unhandled exception)")
# The first line of an exception report in any of the languages above. After a
# one-line block that is not itself one, it makes that line the block's headline.
_EXCEPTION_START = re.compile(
    r"(?:Traceback \(|Exception in thread |panic: |Unhandled [Ee]xception|[\w/.-]+\.rb:\d+:in "
    r"|(?:PHP )?(?:Fatal error: +)?(?:Uncaught |exception ')"
    r"|(?:[A-Za-z_$][\w$]*(?:\.|::))*(?:[A-Z][\w$]*)?(?:Exception|Error|Throwable)\b(?::|$|\s\())")
# Lines that announce an exception without naming it: never a finding on their own.
_BANNER = re.compile(
    r"\s*(?:Traceback \(most recent call last\):?|Stack trace:|Unhandled [Ee]xception:"
    r"|During handling of the above exception.*|The above exception was the direct cause.*)")
# The last line of a Python traceback names the exception; it is not indented.
_PY_EXCEPTION_LINE = re.compile(
    r"[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure)(?::|$)|[A-Za-z_][\w.]*: ")

_FRAME_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r'^\s*File "([^"]+)", line \d+, in (\S+)'),          # Python
    re.compile(r"^\s*at (?:async )?([\w$.<>`\[\], +/:()-]+?)\s*(?:\(|\[0x| in |$)"),  # Java, Node, C#
    re.compile(r"^\s*(?:from )?(?:\S+ \([\d.]+\) )?([\w/.-]+\.rb):\d+:in [`'](.+?)'"),  # Ruby
    re.compile(r"^#\d+\s+\S+\(\d+\): ([\w\\:>-]+)\("),               # PHP
    re.compile(r"^#\d+\s+(\S+)"),                                    # Dart, PHP {main}
    re.compile(r"^([\w.$/*()\[\]-]+)\([^()]*\)\s*$"),               # Go function line
)

_TYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("go", re.compile(r"(?:^|http: )panic(?::| serving \S+:) (.*)", re.M)),
    ("php", re.compile(r"(?:PHP )?(?:Fatal error: +)?(?:Uncaught |exception ')([\w\\]+)'?(?::| with message)", re.M)),
    ("dart", re.compile(r"^Unhandled exception:\n([^:\n]+)", re.M)),
    ("rails", re.compile(r"^\s*([A-Z]\w*(?:::[A-Z]\w*)*) \(.*\):?\s*$", re.M)),
    ("ruby", re.compile(r"^\s*(?:[\w/.-]+:\d+:in [`'][^']*': )?.*\(([A-Z][\w:]+)\)\s*:?\s*$", re.M)),
    ("csharp", re.compile(r"^(?:Unhandled [Ee]xception[.:]\s*)?((?:System|Microsoft)\.[\w.`]+)(?::|$)", re.M)),
    ("java", re.compile(r"^(?:Exception in thread \"[^\"]*\" )?((?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)?)(?::|$)", re.M)),
    ("named", re.compile(r"(?:^|: |\] )((?:[A-Z][\w$]*)?(?:Exception|Error))(?::|$|\s)", re.M)),
)


@dataclass(slots=True)
class TraceInfo:
    error_type: str
    frames: list[str]
    headline: str  # the exception line, as written


def describe_trace(text: str) -> TraceInfo:
    """Exception type, top frames (masked) and headline of a joined block."""
    lines = text.splitlines()
    all_frames = [f for f in (_frame(line) for line in lines) if f]
    if any(line.startswith("Traceback (") for line in lines[:2]):
        # Python prints the innermost frame last: the top frames are the last ones.
        top = all_frames[::-1][:3]
        for line in reversed(lines):
            if (line and not line[0].isspace() and _PY_EXCEPTION_LINE.match(line)
                    and not line.startswith(("Traceback", "During", "The above"))):
                return TraceInfo(line.split(":", 1)[0].strip(), top, line)
    frames = all_frames[:3]
    for language, pattern in _TYPE_PATTERNS:
        match = pattern.search(text)
        if match:
            error_type = match.group(1)
            if language == "go":
                error_type = "panic: runtime error" if error_type.startswith("runtime error") else "panic"
            # Dart announces ("Unhandled exception:") and names the exception on the next line.
            begin = match.start(1) if language == "dart" else match.start()
            end = text.find("\n", begin)
            headline = text[begin: end if end >= 0 else len(text)]
            return TraceInfo(error_type.rsplit("\\", 1)[-1], frames, headline.strip())
    first = next((line for line in lines if line.strip()), "")
    return TraceInfo("", frames, first.strip())


# Frame lines recur (the same code paths fail again and again): each one's masked form is
# worked out once, up to this many lines kept.
_FRAMES_KEPT = 4096
_frames: dict[str, str] = {}


def _frame(line: str) -> str:
    known = _frames.get(line)
    if known is None:
        known = _frame_of(line)
        if len(_frames) >= _FRAMES_KEPT:
            _frames.clear()
        if len(line) <= 1024:
            _frames[line] = known
    return known


def _frame_of(line: str) -> str:
    for pattern in _FRAME_PATTERNS:
        match = pattern.match(line)
        if match:
            # A file's folder varies between deployments; its name and the function do not.
            parts = [g.replace("\\", "/").rsplit("/", 1)[-1] for g in match.groups() if g]
            return mask_message(" ".join(parts))
    return ""


def is_continuation(message: str, block: list[str], *, bare: bool = False) -> bool:
    """Whether `message` continues the block whose lines so far are `block`.

    `bare`: the line carries no timestamp of its own, so it may be the exception that a
    one-line headline announced."""
    if _CONTINUATION.match(message):
        return True
    # "nested exception is:", "Unhandled exception:", "Stack trace:": announced.
    if block[-1].rstrip().endswith(":") and message.strip():
        return True
    if bare and len(block) == 1 and starts_exception(message) and not starts_exception(block[0]):
        return True
    # Python ends with "ValueError: msg" at column 0, right after an indented frame.
    return (block[-1][:1].isspace() and _in_python_traceback(block)
            and bool(_PY_EXCEPTION_LINE.match(message)))


def awaits_exception(lines: list[str]) -> bool:
    """Whether a block may still get the exception it announces: an error line alone, a
    banner alone, a stack that ends in an announcement, or a Python stack not yet named."""
    if len(lines) == 1:
        return True
    last = lines[-1]
    return (last.rstrip().endswith(":") or (_in_python_traceback(lines) and (last[:1].isspace() or not last)))


def is_banner(line: str) -> bool:
    """Whether `line` only announces an exception ("Traceback (most recent call last):")."""
    return _BANNER.fullmatch(line.rstrip()) is not None


def starts_exception(line: str) -> bool:
    """Whether `line` is the first line of an exception report."""
    return _EXCEPTION_START.match(line) is not None


def _in_python_traceback(block: list[str]) -> bool:
    # The banner is the first line, or the second after a headline; or the banner was
    # lost (a batch cut) and the block starts at a frame.
    return (block[0].startswith(("Traceback (", '  File "')) or (len(block) > 1 and block[1].startswith("Traceback (")))


def exception_template(error_type: str, headline: str) -> str:
    """The readable template of an exception: its type as written, then its masked message.

    Masking the type would turn "psycopg2.OperationalError" into a wildcard (it holds a
    digit); the type is a name, not a value."""
    head = headline[:2000]
    if not error_type or not head.startswith(error_type):
        return mask_message(head)
    rest = head[len(error_type):]
    masked = mask_message(rest)
    if not masked:
        return error_type
    return f"{error_type}{' ' if rest[:1].isspace() else ''}{masked}"


@dataclass(slots=True)
class OpenTrace:
    """An error line and the lines that followed it on the same stream."""

    service: str
    window_start: float
    first_seen: float
    last_seen: float
    level: str
    lines: list[str] = field(default_factory=list)
    logger: str = ""
    endpoint: str = ""
    headline: bool = False  # lines[0] announced the exception that lines[1:] report
    structured: bool = False  # lines[0] is a JSON record with a level of its own
    counted: bool = False  # already counted (see PartitionExtractor.flush): what joins it adds nothing
    error_class: str = ""  # the exception class lines[0] names in a field of its own


StreamKey = tuple[str, str, str]


class TraceJoiner:
    """Open blocks per (service, host, stream); bounded in lines and in blocks."""

    def __init__(self, max_lines: int, max_open: int, join_gap_s: float = JOIN_GAP_S) -> None:
        self.max_lines = max_lines
        self.max_open = max_open
        self.join_gap_s = join_gap_s
        self.open: dict[StreamKey, OpenTrace] = {}
        self.services: dict[str, int] = {}  # service -> open text blocks, for the fast path
        # service -> open text blocks whose last line announces the next ("Unhandled
        # exception:"): that line ("Out of Memory") looks like nothing, but must be parsed.
        self.announcing: dict[str, int] = {}
        # service -> open blocks of any kind (JSON error records too): a record of a
        # service with none cannot close one.
        self.holders: dict[str, int] = {}

    def _announce(self, key: StreamKey, block: OpenTrace, step: int) -> None:
        if block.structured or not block.lines[-1].rstrip().endswith(":"):
            return
        left = self.announcing.get(key[0], 0) + step
        if left > 0:
            self.announcing[key[0]] = left
        else:
            self.announcing.pop(key[0], None)

    def _opened(self, key: StreamKey) -> None:
        self.services[key[0]] = self.services.get(key[0], 0) + 1

    def _closed(self, key: StreamKey) -> None:
        left = self.services.get(key[0], 0) - 1
        if left > 0:
            self.services[key[0]] = left
        else:
            self.services.pop(key[0], None)

    def continue_block(self, key: StreamKey, message: str, at: float, *, bare: bool = False) -> bool:
        """Append `message` to the open block of `key` if it continues it (`bare`: see
        `is_continuation`)."""
        block = self.open.get(key)
        if block is None:
            return False
        # A line with its own time (not bare) more than the join gap after the block's
        # last is an event of its own, whatever its words: two "Unhandled exception:"
        # errors ten seconds apart were one. (A trace a syslog header puts on every
        # line comes within the same second.)
        near = at - block.last_seen <= self.join_gap_s
        if not (near or bare) or not is_continuation(message, block.lines, bare=bare and near):
            return False
        if len(block.lines) == 1 and starts_exception(message) and not starts_exception(block.lines[0]):
            block.headline = True
        if len(block.lines) < self.max_lines:
            self._announce(key, block, -1)
            block.lines.append(message)
            self._announce(key, block, +1)
        block.last_seen = max(block.last_seen, at)
        return True

    def join_exception(self, key: StreamKey, lines: list[str], at: float) -> bool:
        """Append a whole exception carried by one record (`lines`) to the error line open
        on `key`, if that line announced it: one logged error, one finding."""
        block = self.open.get(key)
        if (block is None or len(block.lines) != 1 or block.headline or starts_exception(block.lines[0])
                or at - block.last_seen > self.join_gap_s or not starts_exception(lines[0])):
            return False
        block.headline = True
        self._announce(key, block, -1)
        block.lines.extend(lines[: self.max_lines - 1])
        self._announce(key, block, +1)
        block.last_seen = max(block.last_seen, at)
        return True

    def close(self, key: StreamKey) -> OpenTrace | None:
        block = self.open.pop(key, None)
        if block is not None:
            left = self.holders[key[0]] - 1
            if left:
                self.holders[key[0]] = left
            else:
                del self.holders[key[0]]
            if not block.structured:
                self._closed(key)
                self._announce(key, block, -1)
        return block

    def start(self, key: StreamKey, block: OpenTrace) -> list[OpenTrace]:
        """Open a block; returns blocks closed to make room (the oldest first)."""
        closed: list[OpenTrace] = []
        previous = self.close(key)
        if previous is not None:
            closed.append(previous)
        while len(self.open) >= self.max_open:
            oldest = self.close(next(iter(self.open)))
            if oldest is not None:
                closed.append(oldest)
        self.open[key] = block
        self.holders[key[0]] = self.holders.get(key[0], 0) + 1
        if not block.structured:
            # A JSON error record does not hold its service off the fast path: the lines
            # of a traceback that may follow it are parse candidates by themselves (the
            # banner, frames, the exception line); only a code line between them is missed.
            self._opened(key)
            self._announce(key, block, +1)
        return closed

    def close_idle(self, watermark: float, idle_s: float,
                   hurry: Callable[[OpenTrace], bool] | None = None) -> list[OpenTrace]:
        """Blocks whose last line is at least `idle_s` behind the watermark; a block that
        may still get its exception (`awaits_exception`) waits `join_gap_s` (if longer),
        unless `hurry` says it is fatal: the lines of one logged event come together,
        and a fatal error must not wait seconds for an exception that seldom follows."""
        wait = max(idle_s, self.join_gap_s)
        idle = [key for key, block in self.open.items()
                if watermark - block.last_seen >= (wait if awaits_exception(block.lines)
                                                   and not (hurry is not None and hurry(block)) else idle_s)]
        return [block for block in (self.close(key) for key in idle) if block is not None]


def signal_of_block(block: OpenTrace, *, headline_first: bool = False) -> tuple[Signal | None, str | None]:
    """The signal a complete block is, and what it groups by (None: its template).

    Exceptions group by type and top frames: their messages carry values. A one-line
    block is an error line of its own. A block that is only an exception banner
    ("Traceback (most recent call last):", its rest lost or cut off) is no signal: it says
    nothing about what failed, and the rest, if it comes, is the finding."""
    lines = block.lines
    while len(lines) > 1 and (not lines[-1].strip() or is_banner(lines[-1])):
        lines = lines[:-1]
    if is_banner(lines[0]) and len(lines) == 1:
        return None, None
    method, _, path = block.endpoint.partition("\x00")
    head = lines[0]
    if len(lines) == 1:
        return Signal.from_message(block.service, block.level, block.first_seen, head, method=method,
                                   path=path, logger=block.logger, error_class=block.error_class), None
    text = "\n".join(lines)
    info = describe_trace("\n".join(lines[1:]) if headline_first or block.headline else text)
    if not info.error_type:
        whole = describe_trace(text)  # the headline itself may name what was thrown
        if whole.error_type or not info.frames:
            info = whole
    template = exception_template(info.error_type, info.headline or head)
    signal = Signal(block.service, normalise_endpoint(method, path) if (method or path) else "",
                    info.error_type or block.error_class or readable_type(template), template, block.level,
                    block.first_seen, text, block.logger, info.headline or head)
    return signal, (f"{signal.error_type} @ " + " < ".join(info.frames) if info.frames else template)
