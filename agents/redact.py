"""Redaction of secrets and personal data from untrusted text (log lines, payloads).

Used before anything leaves the process: window samples, AI prompts, notifications,
dead letters. Credentials are always masked: vendor tokens (Slack, Telegram, Atlassian,
GitHub, GitLab, AWS, Anthropic, OpenAI, Google, Stripe, SendGrid, Twilio, npm, PyPI,
Hugging Face, Shopify, DigitalOcean, Mailgun), JWTs, private keys, Authorization
headers, passwords in URLs and in `key=value` / JSON fields, and generic high-entropy
keys; a prefixed token goes whole, prefix included. Personal data is masked by kind,
each of which can be turned off (`RedactConfig.personal_kinds`, set once at start with
`configure`): e-mail addresses, phone numbers (international, and national forms of
North America and of trunk-0 countries), US SSNs, UK National Insurance numbers, IBANs
(mod-97 checked) and card numbers (Luhn checked). Where a number carries a checksum it
is masked only when the checksum holds, so ordinary ids and amounts stay readable. IP
addresses are masked when asked.

Must never raise on any input, never reveal any part of a secret it matched (only the
name of the field it sat in), and never grow text by more than a small constant per
match.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PERSONAL_KINDS", "RedactConfig", "configure", "forget", "redact"]

MASK = "[REDACTED]"

# Field names whose value is a secret, in key=value, key: value and JSON forms.
_SECRET_KEYS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|client[_-]?secret|token|access[_-]?token|"
    r"refresh[_-]?token|auth[_-]?token|api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|"
    r"secret[_-]?(?:access[_-]?)?key|private[_-]?key|credentials?|session[_-]?id|"
    r"x-api-key|signing[_-]?secret|webhook[_-]?secret|sig|signature"
)

# A rule: pattern, replacement, and a guard: substrings one of which any match
# contains (lower-case ones are looked up in the lower-cased text, for the (?i) rules).
# A rule whose guard is absent cannot match and is skipped: most log samples hold no
# secret, and scanning for one with every pattern cost ~100 µs per sample.
_Rule = tuple[re.Pattern[str], "str | Callable[[re.Match[str]], str]", tuple[str, ...], tuple[str, ...]]
_SECRET_KEY_PARTS = ("pass", "pwd", "secret", "token", "key", "credential", "session", "sig")


def _rule(pattern: str, repl: "str | Callable[[re.Match[str]], str]", *, lower: tuple[str, ...] = (),
          exact: tuple[str, ...] = (), flags: int = 0) -> _Rule:
    return re.compile(pattern, flags), repl, lower, exact


# Order matters: structured forms first (they keep the field name), then bare tokens.
_RULES: list[_Rule] = [
    _rule(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
          "[REDACTED_PRIVATE_KEY]", exact=("PRIVATE KEY-----",), flags=re.S),
    # Authorization / Proxy-Authorization headers, whatever the scheme.
    _rule(r"(?i)\b((?:proxy-)?authorization\"?\s*[:=]\s*\"?)(?:(bearer|basic|token|digest|bot)\s+)?[^\s\",;]+",
          lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}{MASK}", lower=("authorization",)),
    _rule(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", rf"\1 {MASK}", lower=("bearer", "basic")),
    # Credentials inside URLs: scheme://user:password@host
    _rule(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@\"']*):[^\s/@\"']+@", rf"\1:{MASK}@", exact=("://",)),
    # JSON fields: "password": "value"
    _rule(rf"(?i)(\"(?:[\w-]*?)(?:{_SECRET_KEYS})\"\s*:\s*\")(?:[^\"\\]|\\.)*\"", rf'\1{MASK}"',
          lower=_SECRET_KEY_PARTS),
    # key=value / key: value (query strings, logfmt, config dumps)
    _rule(rf"(?i)\b([\w-]*?(?:{_SECRET_KEYS}))(\s*[=:]\s*)(?!\[REDACTED)[\"']?[^\s,;&\"'<>]+[\"']?", rf"\1\2{MASK}",
          lower=_SECRET_KEY_PARTS),
    _rule(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", "[REDACTED_JWT]", exact=("eyJ",)),
    _rule(r"\bxox[abposr]-[A-Za-z0-9-]{10,}", "[REDACTED_SLACK_TOKEN]", exact=("xox",)),
    _rule(r"\bxapp-\d-[A-Za-z0-9-]{10,}", "[REDACTED_SLACK_TOKEN]", exact=("xapp-",)),
    _rule(r"(?i)hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+",
          "hooks.slack.com/[REDACTED_SLACK_WEBHOOK]", lower=("hooks.slack.com/",)),
    _rule(r"(?i)discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]+",
          "discord.com/api/webhooks/[REDACTED_WEBHOOK]", lower=("discord",)),
    # <bot id>:<secret>; the id goes too, also where a URL glues it to "bot".
    _rule(r"(?<!\d)\d{8,10}:AA[A-Za-z0-9_-]{33}\b", "[REDACTED_TELEGRAM_TOKEN]", exact=(":AA",)),
    _rule(r"\bATATT3[A-Za-z0-9_=-]{20,}", "[REDACTED_ATLASSIAN_TOKEN]", exact=("ATATT3",)),
    _rule(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})", "[REDACTED_GITHUB_TOKEN]",
          exact=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _rule(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b", "[REDACTED_AWS_KEY]",
          exact=("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA")),
    _rule(r"\bsk-ant-[A-Za-z0-9_-]{16,}", "[REDACTED_ANTHROPIC_KEY]", exact=("sk-ant-",)),
    _rule(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", "[REDACTED_OPENAI_KEY]", exact=("sk-",)),
    _rule(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", "[REDACTED_STRIPE_KEY]", exact=("_live_", "_test_")),
    _rule(r"\bAIza[0-9A-Za-z_-]{35}", "[REDACTED_GOOGLE_KEY]", exact=("AIza",)),
    _rule(r"\bya29\.[0-9A-Za-z_-]{20,}", "[REDACTED_GOOGLE_TOKEN]", exact=("ya29.",)),
    # SendGrid: SG.<22-char id>.<43-char secret>; the id goes too (it names the key).
    _rule(r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}", "[REDACTED_SENDGRID_KEY]", exact=("SG.",)),
    _rule(r"\bglpat-[A-Za-z0-9_-]{20,}", "[REDACTED_GITLAB_TOKEN]", exact=("glpat-",)),
    _rule(r"\bnpm_[A-Za-z0-9]{36}\b", "[REDACTED_NPM_TOKEN]", exact=("npm_",)),
    _rule(r"\bpypi-AgE[A-Za-z0-9_-]{50,}", "[REDACTED_PYPI_TOKEN]", exact=("pypi-AgE",)),
    _rule(r"\bhf_[A-Za-z0-9]{30,}\b", "[REDACTED_HUGGINGFACE_TOKEN]", exact=("hf_",)),
    _rule(r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}\b", "[REDACTED_SHOPIFY_TOKEN]", exact=("shp",)),
    _rule(r"\bdo[opr]_v1_[a-f0-9]{64}\b", "[REDACTED_DIGITALOCEAN_TOKEN]", exact=("_v1_",)),
    _rule(r"\b(?:SK|AC)[0-9a-f]{32}\b", "[REDACTED_TWILIO_KEY]", exact=("SK", "AC")),
    _rule(r"\bkey-[0-9a-z]{32}\b", "[REDACTED_MAILGUN_KEY]", exact=("key-",)),
]

# A card number: 13-19 digits, optionally grouped by single spaces or dashes, not part
# of a longer id (block ids like blk_-2918118818249673980 are preceded by '-').
_CARD = re.compile(r"(?<![\w.-])[2-6](?:[ -]?\d){12,18}(?![\w-])")
_HIGH_ENTROPY = re.compile(r"(?<![\w/+=-])[A-Za-z0-9+/_=-]{32,}(?![\w/+=-])")
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.]|\.\d)")
_IPV6 = re.compile(r"(?i)(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])")


# --- personal data -------------------------------------------------------------------

PERSONAL_KINDS = ("email", "phone", "ssn", "ni_number", "iban", "card")
PersonalKind = Literal["email", "phone", "ssn", "ni_number", "iban", "card"]


class RedactConfig(BaseModel):
    """Section `[redact]`: which kinds of personal data are masked. Credentials always are."""

    model_config = ConfigDict(extra="forbid")

    personal_kinds: list[PersonalKind] = Field(
        default_factory=lambda: list(PERSONAL_KINDS),
        description="personal data masked in everything that leaves a worker: email, phone, ssn,"
                    " ni_number, iban, card; remove a kind to keep it readable")


_enabled: frozenset[str] = frozenset(PERSONAL_KINDS)


def configure(cfg: RedactConfig) -> None:
    """Set, once at start, the kinds of personal data `redact` masks in this process."""
    global _enabled
    _enabled = frozenset(cfg.personal_kinds)


_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
# Seven digits close together: nothing numeric below can match without them.
_SOME_DIGITS = re.compile(r"(?:\d[^\d\n]{0,3}){7}")
# Numbers are never cut out of a longer token: no word character, dot, colon, slash or
# dash may touch either end ("05-01-2024 10:00" is a time, not a phone number).
_EDGE_L = r"(?<![\w.:/+-])"
_EDGE_R = r"(?![\w.:/-])"
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
# SSA rules: no area 000, 666 or 9xx, no group 00, no serial 0000. No checksum exists.
_SSN_AREA, _SSN_GROUP, _SSN_SERIAL = r"(?!000|666|9\d\d)\d{3}", r"(?!00)\d{2}", r"(?!0000)\d{4}"
_SSN = re.compile(_EDGE_L + _SSN_AREA + "-" + _SSN_GROUP + "-" + _SSN_SERIAL + _EDGE_R)
_SSN_FIELD = re.compile(r"(?i)\b(ssn|social[_ -]?security(?:[_ -]?number)?)([\"']?\s*[:=]\s*[\"']?)"
                        + _SSN_AREA + "-?" + _SSN_GROUP + "-?" + _SSN_SERIAL + r"\b")
# HMRC: prefix letters exclude D F I Q U V (and O second); BG GB KN NK NT TN ZZ unused.
_NI = re.compile(r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_PHONE_FIELD = re.compile(r"(?i)\b(phone(?:[_-]?number)?|tel(?:ephone)?|mobile|cell(?:phone)?|fax|msisdn)"
                          r"([\"']?\s*[:=]\s*[\"']?)\+?\d[\d ().-]{5,18}\d")
_PHONE_INTL = re.compile(r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,6}" + _EDGE_R)
_PHONE_NANP = re.compile(_EDGE_L + r"(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}" + _EDGE_R)
_PHONE_TRUNK0 = re.compile(_EDGE_L + r"0[1-9]\d{0,4}(?:[ -]\d{2,8}){1,4}" + _EDGE_R)


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _mask_iban(match: re.Match[str]) -> str:
    # The pattern may take a following upper-case word ("... 32 USD"): try shorter first.
    groups = match.group(0).split(" ")
    for keep in range(len(groups), 0, -1):
        candidate = "".join(groups[:keep])
        if _iban_ok(candidate):
            return " ".join(["[IBAN]", *groups[keep:]]) if keep < len(groups) else "[IBAN]"
    return match.group(0)


def _iban_ok(iban: str) -> bool:
    """ISO 13616: 15-34 characters; moved country and check digits to the end, letters as
    10-35, the number is 1 modulo 97."""
    if not 15 <= len(iban) <= 34:
        return False
    return int("".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])) % 97 == 1


def _mask_phone(match: re.Match[str]) -> str:
    # E.164: at most 15 digits; fewer than 8 is an amount or an id, not a phone number.
    return "[PHONE]" if 8 <= _digit_count(match.group(0)) <= 15 else match.group(0)


def _mask_national_phone(match: re.Match[str]) -> str:
    # A trunk 0 and 9-11 more digits: UK 020 7946 0958, DE 030 1234567, FR 01 42 68 53 00.
    return "[PHONE]" if 10 <= _digit_count(match.group(0)) <= 12 else match.group(0)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return "[CARD]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


# (kind, pattern, replacement, needs seven digits, words one of which must be in the
# lower-cased text, gate); in this order, so that a checked number (IBAN, card) is taken
# whole before a looser pattern sees a part of it. The gate (`_GATES`) is what any match
# that changes the text holds: literal pieces one of which must be in the text's shape
# (`_SHAPE`: ASCII digits as "0", capitals as "A"), or a pattern found in the shape
# (bytes) or in the text (str) that starts with a literal; a regex that starts with a
# look-behind or `\b` is tried at every position (~3 µs over a 160-character sample), a
# piece is found at once, so most patterns never run over a sample that cannot hold
# their kind.
_PERSONAL: list[tuple[str, re.Pattern[str], "str | Callable[[re.Match[str]], str]", bool, tuple[str, ...], str]] = [
    ("email", _EMAIL, "[EMAIL]", False, ("@",), ""),
    ("iban", _IBAN, _mask_iban, True, (), "iban"),
    ("card", _CARD, _mask_card, True, (), "card"),
    ("ssn", _SSN_FIELD, r"\1\2[SSN]", True, ("ssn", "social"), ""),
    ("ssn", _SSN, "[SSN]", True, ("-",), "ssn"),
    ("ni_number", _NI, "[NI_NUMBER]", False, (), "ni_number"),
    ("phone", _PHONE_FIELD, r"\1\2[PHONE]", True, ("phone", "tel", "mobile", "cell", "fax", "msisdn"), ""),
    ("phone", _PHONE_INTL, _mask_phone, True, ("+",), "intl"),
    ("phone", _PHONE_NANP, "[PHONE]", True, (), "nanp"),
    ("phone", _PHONE_TRUNK0, _mask_national_phone, True, ("0",), "trunk0"),
]
_Gate = "tuple[bytes, ...] | re.Pattern[bytes] | re.Pattern[str]"
_GATES: dict[str, _Gate] = {
    "iban": (b"AA00",),
    "card": re.compile(rb"0(?:[ -]?0){12}"),
    "ssn": (b"000-00-0000",),
    "ni_number": (b"AA00", b"AA 00"),
    "intl": re.compile(r"\+[1-9]"),
    "nanp": re.compile(rb"0(?:\) ?|[ .-])000[ .-]0000"),
    # It masks only numbers of 10 to 12 digits: "0", a digit 1-9, then eight more digits
    # and at least one space or dash (an HTTP status and a size, "503 1234", is none).
    "trunk0": re.compile(r"0[1-9][\d -]{9}"),
}

# Shapes of ASCII text, byte for byte: digits as "0", capitals as "A" (the gates above);
# the characters of a high-entropy token as "x", all else as " " (its gate).
_SHAPE = bytes(48 if 48 <= c <= 57 else 65 if 65 <= c <= 90 else c for c in range(256))
_TOKEN_SHAPE = bytes(120 if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "+/_=-") else 32 for c in range(256))
_SOME_DIGITS_SHAPED = re.compile(rb"0(?:[^0\n]{0,3}0){6}")  # `_SOME_DIGITS` in the shape
_TOKEN_GATE = b"x" * 32  # `_HIGH_ENTROPY` matches 32 or more such characters in a row
# Off: every rule and pattern runs whatever the guards and gates say (the reference the
# tests compare with: the same text out).
_GATED = True


def _passes(gate: "_Gate | None", shape: bytes | None, text: str) -> bool:
    if gate is None or shape is None:
        return True
    if isinstance(gate, tuple):
        return any(piece in shape for piece in gate)
    return gate.search(shape if isinstance(gate.pattern, bytes) else text) is not None


def _mask_personal(text: str, kinds: frozenset[str], plan: int | None = None) -> str:
    """`plan`: `_personal_plan(text)`, where the caller has it."""
    if plan is None:
        plan = _personal_plan(text)
    if not plan & _ENTRIES:  # no entry's words and gate hold: most texts
        return text
    for index, (kind, pattern, repl, needs_digits, _words, _gate) in enumerate(_PERSONAL):
        if kind in kinds and plan >> index & 1 and (plan & _NUMERIC or not needs_digits):
            masked = pattern.sub(repl, text)
            if masked != text:
                text = masked
                plan = _personal_plan(text)  # later words and gates look at what is left
    return text


def _personal_plan(text: str) -> int:
    """Bit j: `_PERSONAL[j]`'s words (if it has any) and gate hold in `text`; `_NUMERIC`:
    seven digits close together. Words and gates hold for ASCII text only (as the rules'
    guards): any other text gets every pattern."""
    if not (_GATED and text.isascii()):
        return _ENTRIES | (_NUMERIC if _SOME_DIGITS.search(text) is not None else 0)
    lowered = text.lower()
    shape = text.encode().translate(_SHAPE)
    plan = _NUMERIC if _SOME_DIGITS_SHAPED.search(shape) is not None else 0
    for index, (_kind, _pattern, _repl, _digits, words, gate) in enumerate(_PERSONAL):
        if ((not words or not lowered or any(word in lowered for word in words))
                and _passes(_GATES.get(gate), shape, text)):
            plan |= 1 << index
    return plan


def _mask_ipv6(match: re.Match[str]) -> str:
    # The pattern also matches clock times ("15:42:50"); only real addresses go.
    try:
        ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[IP]"


def _entropy(token: str) -> float:
    counts = Counter(token)
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _mask_high_entropy(match: re.Match[str]) -> str:
    token = match.group(0)
    # Keys mix upper, lower and digits; hex digests, UUIDs and words do not, and must
    # stay readable because they identify blocks, commits and fingerprints.
    if token.startswith("[") or not (re.search(r"[A-Z]", token) and re.search(r"[a-z]", token)
                                      and re.search(r"\d", token)):
        return token
    return "[REDACTED_KEY]" if _entropy(token) >= 4.0 else token


# Every rule's guard pieces, each once: (piece, look in the lower-cased text, its rules' bits).
def _guard_index() -> list[tuple[str, bool, int]]:
    rules: dict[tuple[str, bool], int] = {}
    for index, (_pattern, _repl, lower, exact) in enumerate(_RULES):
        for piece in lower:
            rules[(piece, True)] = rules.get((piece, True), 0) | 1 << index
        for piece in exact:
            rules[(piece, False)] = rules.get((piece, False), 0) | 1 << index
    return [(piece, lower, mask) for (piece, lower), mask in rules.items()]


_GUARDS = _guard_index()


def _guarded_rules(text: str, lowered: str) -> int:
    """The rules whose guard holds in `text` (bit i: `_RULES[i]`): one look for each piece,
    not one per rule."""
    wanted = 0
    for piece, lower, mask in _GUARDS:
        if piece in (lowered if lower else text):
            wanted |= mask
    return wanted


def _apply_rules(text: str, *, guarded: bool, plan: int | None = None) -> str:
    """`plan`: `_plan`'s rule bits for this text (None: look here)."""
    guarded = guarded and _GATED
    wanted = (plan if plan is not None else _guarded_rules(text, text.lower())) if guarded else -1
    if not wanted:  # no guard holds: most texts
        return text
    for index, (pattern, repl, _lower, _exact) in enumerate(_RULES):
        if wanted >> index & 1:
            if guarded and index in _FIELD_RULES and not _names_a_secret_field(text.lower()):
                continue
            text, changed = pattern.subn(repl, text)
            if changed and guarded:
                wanted = _guarded_rules(text, text.lower())  # later guards look at what is left
    return text


# The two rules of secret fields ("password": "...", token=...): their guard (a key word
# anywhere: "key" in every "KeyError") holds in most stack traces, and the two patterns,
# case-insensitive with a lazy prefix, took ~60 µs over one. Every name `_SECRET_KEYS`
# takes ends in one of the endings below, starting at a key word, and both rules want
# a separator right after the name (the JSON one a quote first): where no key word
# starts such an ending and separator, neither can match, and neither runs.
_FIELD_RULES = frozenset(index for index, rule in enumerate(_RULES) if rule[2] == _SECRET_KEY_PARTS)
_FIELD_END = re.compile(r'(?:pass(?:word|wd|phrase)?|pwd|secret|token|key(?:[_-]?id)?|credentials?|session[_-]?id'
                        r'|sig(?:nature)?)"?\s*[=:]')


def _names_a_secret_field(lowered: str) -> bool:
    """Whether an ASCII text (lower-cased) holds a secret field's name and separator as
    every match of the `_FIELD_RULES` does."""
    for piece in _SECRET_KEY_PARTS:
        at = lowered.find(piece)
        while at >= 0:
            if _FIELD_END.match(lowered, at) is not None:
                return True
            at = lowered.find(piece, at + 1)
    return False


# `_plan`'s bits beside the personal patterns' (bit j: `_PERSONAL[j]`).
_NUMERIC, _TOKEN = 1 << 30, 1 << 31
_ENTRIES = (1 << len(_PERSONAL)) - 1


def _plan(text: str) -> tuple[int, int]:
    """What can change an ASCII text: the rules whose guards hold (bit i: `_RULES[i]`),
    and `_personal_plan`'s bits with `_TOKEN` for a high-entropy key's gate.
    `_scan.redact_plan` gives the same, compiled, in one pass."""
    token = _TOKEN if _TOKEN_GATE in text.encode().translate(_TOKEN_SHAPE) else 0
    return _guarded_rules(text, text.lower()), _personal_plan(text) | token


def redact(text: str, *, mask_ips: bool = False, personal: frozenset[str] | None = None) -> str:
    """`text` with secrets and personal data replaced by labelled masks.

    `personal`: the kinds of personal data to mask; default the configured ones. The
    answers for the last `_REMEMBERED` short texts are kept: an error's headline and
    sample recur line after line (the extraction stage redacts each finding's), and the
    rules are the slow part. The same text always gives the same answer.
    """
    if not isinstance(text, str):
        text = str(text)
    kinds = _enabled if personal is None else personal
    short = len(text) <= _REMEMBERED_CHARS
    if short:
        known = _remembered.get((text, mask_ips, kinds))
        if known is not None:
            return known
    masked = _redact(text, mask_ips, kinds)
    if short:
        if len(_remembered) >= _REMEMBERED:
            _remembered.clear()
        _remembered[(text, mask_ips, kinds)] = masked
    return masked


_REMEMBERED = 2048
_REMEMBERED_CHARS = 2048  # so at most about 8 MB of text kept
_remembered: dict[tuple[str, bool, frozenset[str]], str] = {}


def forget() -> None:
    """Drop the answers kept so far (a benchmark's runs each start without them)."""
    _remembered.clear()


def _redact(text: str, mask_ips: bool, kinds: frozenset[str]) -> str:
    # Unicode case folding lets (?i) match letters that lower() keeps apart ("ſ" ~ "s"):
    # guards hold for ASCII text only, anything else gets every rule.
    ascii_text = text.isascii()
    plan = (_compiled_plan(text) if _compiled_plan is not None else _plan(text)) if _GATED and ascii_text else None
    if plan is not None and not mask_ips and plan[0] == 0 and plan[1] & (_ENTRIES | _TOKEN) == 0:
        return text  # no rule's guard, no personal pattern's words and gate, no key's gate: nothing to mask
    original = text
    text = _apply_rules(text, guarded=ascii_text, plan=plan[0] if plan else None)
    same = text == original
    text = _mask_personal(text, kinds, plan[1] if plan and same else None)
    same = same and text == original
    if (not (_GATED and text.isascii()) or (plan[1] & _TOKEN if plan and same
                                            else _TOKEN_GATE in text.encode().translate(_TOKEN_SHAPE))):
        text = _HIGH_ENTROPY.sub(_mask_high_entropy, text)
    if mask_ips:
        text = _IPV4.sub("[IP]", text)
        text = _IPV6.sub(_mask_ipv6, text)
    return text


# `_plan`, compiled (`agents/extract/_scan.c`): set by the extraction stage, which owns
# the extension and redacts the most (`use_compiled`); None: `_plan` runs.
_compiled_plan: "Callable[[str], tuple[int, int] | None] | None" = None


def use_compiled(setup: "Callable[..., None] | None", plan: "Callable[[str], tuple[int, int] | None] | None") -> None:
    """Use the compiled `_plan` (`plan`), given this module's tables through `setup`; both
    None where it was not built (then `_plan` runs, with the same answers)."""
    global _compiled_plan
    if setup is None or plan is None:
        _compiled_plan = None
        return
    words: dict[str, int] = {}
    for index, (*_rest, entry_words, _gate) in enumerate(_PERSONAL):
        for word in entry_words:
            words[word] = words.get(word, 0) | 1 << index
    setup(list(_GUARDS), list(words.items()), [(bool(entry[4]), entry[5]) for entry in _PERSONAL], _NUMERIC, _TOKEN)
    _compiled_plan = plan
