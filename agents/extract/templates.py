"""Message templates: mask volatile tokens, then group masked messages (Drain-like).

Two layers, on purpose:
- `mask_message` is stateless: the same text always gives the same template, on every
  worker and after every restart. Fingerprints (`fp1:`) are built from it, so a replay
  or a rebalance never renames an error.
- `TemplateMiner` merges masked templates that differ only in a few word positions
  (user names, file names, states). It depends on what it has seen, so it is used where
  grouping quality matters more than cross-process stability (the grouping benchmark,
  and as a bounded per-partition refinement of plain-text templates).

Must never do I/O, never read a clock, and never grow without bound.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["TEMPLATE_ID", "TemplateMiner", "WILDCARD", "forget", "is_template_id", "mask_message", "template_id"]

WILDCARD = "<*>"

# Order matters: wide shapes (URLs, paths, ids) before the generic "has a digit" rule,
# so one volatile value becomes one wildcard, not several.
# Each rule has a guard: substrings one of which must occur for the rule to apply
# (None: needs a digit). Skipping rules that cannot match made masking ~3x faster.
_MASKS: tuple[tuple[re.Pattern[str], tuple[str, ...] | None], ...] = (
    (re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s,;\"'<>)\]]+"), ("://",)),  # URLs
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), ("-",)),
    (re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+\b"), ("@",)),  # e-mail addresses
    # Paths: absolute ("/var/lib/x.db", "C:\\x\\y"), with a doubled separator where a
    # script joined "dir/" and "/file" ("/home/yates//bandwidth.rts"), or relative to
    # "./" or "../" ("ciod: Error loading ./runtime_malloc: invalid ... program image").
    (re.compile(r"(?<![\w/])(?:(?<!\.)\.{1,2}(?:[\\/]{1,2}[\w.$@{}~+%-]+)+"
                r"|(?:[A-Za-z]:)?(?:[\\/]{1,2}[\w.$@{}~+%-]+){2,})[\\/]?(?:\?[^\s\"']*)?"), ("/", "\\")),
    (re.compile(r"\bHTTP/\d(?:\.\d)?\b"), ("HTTP/",)),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), (".",)),  # IPv4[:port]
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), (":",)),  # IPv6 / MACs
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b"), ("0x", "0X")),
    # Values of key=value / key:value pairs: flags, states and quoted names vary.
    (re.compile(r'(?<=[=])"[^"]*"|(?<=[=])[^\s,;)\]"]+|(?<=[=:])(?:true|false|null|none|nil)\b'), ("=", ":")),
    (re.compile(r"(?<![\w.-])[0-9a-fA-F]{16,}\b"), None),  # long hex (ids, hashes)
    # Dates and times as syslog and ctime write them: "Sun Jul 10 07:24:24 2005".
    (re.compile(r"\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d\d:\d\d(?::\d\d)?(?:\s+\d{4})?\b"), None),
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?\b"), ("-",)),
    (re.compile(r"(?<![\w-])(?:[\w-]+\.)+(?:com|net|org|edu|gov|info|biz|(?!py|rb|js|go|cs|sh|ts|so|pl|md|db|gz|rs|kt)[a-z]{2})(?::\d+)?(?![\w.])"), (".",)),
    (re.compile(r"(?<![\w.:-])[\w.-]+:\d{1,5}\b"), (":",)),  # host:port
    # Numbers with an optional unit: "1.21 KB", "300ms", "-12", "3,200".
    (re.compile(r"(?<![\w.-])[-+<>~]?\d(?:[\d,.:]*\d)?(?:\s?(?:[KMGT]i?B|bytes?|ms|us|ns|s|sec|%))?(?![\w])"), None),
    # Any remaining word that carries a digit: blk_-123, job_1445_0020, node-246, v6.1.
    # (The lookbehind starts matches at word starts only: without it the scan is
    # quadratic in the word length.)
    (re.compile(r"(?<![\w.$#@+~-])[\w.$#@+~-]*\d[\w.$#@+~-]*"), None),
    # Java and Android print an object as "Type{identityHash name}": the dotted name
    # after the hash names the instance, a value like the hash ("ActivityInfo{d1c8e63
    # com.tencent.mm.ui.LauncherUI}", "PendingIntentRecord{e204f60 com.android.phone broadcastIntent}").
    (re.compile(r"(?<=\w\{<\*> )[A-Za-z_$][\w$]*(?:[./:]+[\w$]+)+(?=[\s}])"), ("{",)),
    # A user name is a value wherever it is written ("session opened for user news",
    # "Invalid user oracle from ...", "Failed password for root from ..."): the word
    # after "user" or after "password/publickey/failure(s) for".
    (re.compile(r"(?:(?<=\b[Uu]ser )|(?<=password for )|(?<=publickey for )|(?<=failures for )|(?<=failure for ))"
                r"(?!(?:name|id|agent|from|by|to|for|invalid|illegal|unknown)\b)[\w.$@-]+(?![\w(=:])"),
     ("user ", "User ", " for ")),
)
# A bracketed value is one value, and so is a braced one standing alone: a GUID in
# braces ("{bf1a281b-ad7b-4476-ac95-f47682990ce7}GLOBALROOT/Device/...") or a geometry
# ("Page bounds {{0, 0}, {400, 400}}"); "Type{<*>" after a name is left to the name.
_PARENTHESISED = re.compile(r"(?<!\w)[(\[](?:<\*>)?[)\]]|(?<=\w)[(\[]<\*>[)\]]|(?<!\w)\{<\*>\}")
# Values joined only by separators are one value. A backslash separates too, as an
# escape: "Component \042alt0\042" (an octal-escaped quote) or "nodes:node-[224\ 228]".
_RUNS = re.compile(r"<\*>(?:[\s:/.,_\\-]*<\*>)+")
_PREFIXED = re.compile(r"(?<![\w>])[/\\#@]<\*>")
# A word glued to a value is a value; so is a relative path that holds one, as an
# absolute path is ("GLOBALROOT/Device/HarddiskVolumeShadowCopy2/Windows/System32/...",
# "rrds/C Nodes/cn304/pkts_out.rrd", "Mozilla/5.0"). Not a backslash: in a JSON-escaped line
# "\n" ends a line, and "started\n2025-01-02 ..." must keep "started".
_GLUED = re.compile(r"(?<![\w.$#@+~/-])[\w.$#@+~/-]*<\*>[\w.$#@+~/-]*")
_SPACES = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")


def mask_message(text: str) -> str:
    """The template of one message: volatile tokens replaced by `<*>`, spaces folded.

    Cached (bounded) by the message's shape: the same error line, with other ids and
    counts in it, and the same stack frames repeat far more often than not, and masking
    is the costliest step of extraction. The shape is the text with every digit 1-9
    written as 1: no mask tells those digits apart (each reads a digit as `\\d` or as
    part of a range holding 0-9; only 0 is special, in "0x"), so two messages of one
    shape have one template, unless it kept a digit of its own (then it is not kept)."""
    shape = text.translate(_SHAPE)
    known = _masked.get(shape)
    if known is not None:
        return known
    template = _mask(text)
    if _NONZERO_DIGIT.search(template) is None:
        if len(_masked) >= _MASKED:
            _masked.clear()
        _masked[shape] = template
    return template


_SHAPE = str.maketrans("23456789", "11111111")
_NONZERO_DIGIT = re.compile("[1-9]")
_MASKED = 8192
_masked: dict[str, str] = {}


def forget() -> None:
    """Drop the templates kept so far (a benchmark's runs each start without them)."""
    _masked.clear()


def _mask(text: str) -> str:
    out = text
    has_digit = _DIGIT.search(text) is not None
    for pattern, guard in _MASKS:
        if guard is None:
            if not has_digit:
                continue
        elif not any(part in text for part in guard):
            continue
        out = pattern.sub(WILDCARD, out)
    if WILDCARD not in out:
        return _SPACES.sub(" ", out).strip()
    # Several adjacent wildcards are one value of variable length ("1.2 KB", "a b c").
    # A word glued to a value is a value ("static-<*>", "#<*>#", "LOCAL(<*>)"), and
    # adjacent values are one value of variable length ("1.2 KB", "(<*>) <*>").
    # Two passes: each rule can expose work for the other.
    for _ in range(2):
        out = _GLUED.sub(WILDCARD, _PREFIXED.sub(WILDCARD, out))
        out = _PARENTHESISED.sub(WILDCARD, _RUNS.sub(WILDCARD, out))
    return _SPACES.sub(" ", out).strip()


# What `template_id` returns: "T" and 10 lower-case hex digits. A finding whose
# `error_type` matches it has no exception class or HTTP status; its readable name is
# its `template`.
TEMPLATE_ID = r"T[0-9a-f]{10}"
_TEMPLATE_ID = re.compile(TEMPLATE_ID)


def template_id(template: str) -> str:
    """Short stable id of a template, used as `error_type` for plain-text lines."""
    return "T" + hashlib.blake2b(template.encode(), digest_size=5).hexdigest()


def is_template_id(error_type: str) -> bool:
    """Whether an `error_type` is a template id (then the finding's template names it)."""
    return _TEMPLATE_ID.fullmatch(error_type) is not None


class TemplateMiner:
    """Groups masked templates whose only difference is a word that varies.

    A position of a template is a variable when, with every other token equal, at
    least `min_distinct` different words were seen there ("session closed for user
    cyrus / news / root"). Two values are not enough: "opened"/"closed" must stay
    apart. Groups are joined with a union-find, so a group found late also absorbs the
    templates seen before. Bounded by `max_templates` distinct templates.
    """

    def __init__(self, min_distinct: int = 3, max_templates: int = 20000) -> None:
        self.min_distinct = min_distinct
        self.max_templates = max_templates
        self._parent: dict[str, str] = {}
        self._skeletons: dict[tuple[str, ...], dict[str, str]] = {}  # skeleton -> word -> template

    def add(self, text: str) -> tuple[str, str]:
        """Group one message; returns (group key, masked template of the message)."""
        template = mask_message(text)
        if template not in self._parent:
            if len(self._parent) >= self.max_templates:
                return template, template
            self._parent[template] = template
            self._index(template)
        return self.group(template), template

    def group(self, template: str) -> str:
        """The current group key of a template already added."""
        root = template
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[template] != root:  # path compression
            self._parent[template], template = root, self._parent[template]
        return root

    def _index(self, template: str) -> None:
        tokens = template.split(" ")
        literals = sum(1 for t in tokens if t != WILDCARD and not _has_digit(t))
        # Short or mostly variable templates carry too little context to tell a
        # variable word from a different message ("normal" / "warning" / "running").
        if literals - 1 < max(3, len(tokens) // 2):
            return
        for position, word in enumerate(tokens):
            # Methods and states are keywords, not values ("GET", "VM Resumed").
            if word == WILDCARD or _has_digit(word) or _is_keyword(word):
                continue
            skeleton = (*tokens[:position], WILDCARD, *tokens[position + 1:])
            seen = self._skeletons.setdefault(skeleton, {})
            seen.setdefault(word, template)
            if len(seen) >= self.min_distinct:
                anchor = self.group(next(iter(seen.values())))
                for member in seen.values():
                    root = self.group(member)
                    if root != anchor:
                        self._parent[root] = anchor


def _is_keyword(word: str) -> bool:
    return (len(word) > 1 and word.isupper()) or (word[:1].isupper() and word.endswith("ed"))


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)
