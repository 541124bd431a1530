"""Redaction of secrets and personal data from untrusted text (log lines, payloads).

Used before anything leaves the process: window samples, AI prompts, notifications.
Covers vendor tokens (Slack, Telegram, Atlassian, GitHub, AWS, Anthropic, OpenAI,
Google, Stripe), JWTs, private keys, Authorization headers, passwords in URLs and in
`key=value` / JSON fields, emails, card numbers (Luhn-checked), generic high-entropy
keys, and IP addresses when asked.

Must never raise on any input, never reveal any part of a secret it matched (only the
name of the field it sat in), and never grow text by more than a small constant per
match.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from typing import Callable

__all__ = ["redact"]

MASK = "[REDACTED]"

# Field names whose value is a secret, in key=value, key: value and JSON forms.
_SECRET_KEYS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|client[_-]?secret|token|access[_-]?token|"
    r"refresh[_-]?token|auth[_-]?token|api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|"
    r"secret[_-]?(?:access[_-]?)?key|private[_-]?key|credentials?|session[_-]?id|"
    r"x-api-key|signing[_-]?secret|webhook[_-]?secret"
)

# A rule: pattern, replacement, and a guard: substrings one of which any match
# contains (lower-case ones are looked up in the lower-cased text, for the (?i) rules).
# A rule whose guard is absent cannot match and is skipped: most log samples hold no
# secret, and scanning for one with every pattern cost ~100 µs per sample.
_Rule = tuple[re.Pattern[str], "str | Callable[[re.Match[str]], str]", tuple[str, ...], tuple[str, ...]]
_SECRET_KEY_PARTS = ("pass", "pwd", "secret", "token", "key", "credential", "session")


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
    _rule(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b", "[REDACTED_TELEGRAM_TOKEN]", exact=(":AA",)),
    _rule(r"\bATATT3[A-Za-z0-9_=-]{20,}", "[REDACTED_ATLASSIAN_TOKEN]", exact=("ATATT3",)),
    _rule(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})", "[REDACTED_GITHUB_TOKEN]",
          exact=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _rule(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b", "[REDACTED_AWS_KEY]",
          exact=("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA")),
    _rule(r"\bsk-ant-[A-Za-z0-9_-]{16,}", "[REDACTED_ANTHROPIC_KEY]", exact=("sk-ant-",)),
    _rule(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", "[REDACTED_OPENAI_KEY]", exact=("sk-",)),
    _rule(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", "[REDACTED_STRIPE_KEY]", exact=("_live_", "_test_")),
    _rule(r"\bAIza[0-9A-Za-z_-]{35}", "[REDACTED_GOOGLE_KEY]", exact=("AIza",)),
    _rule(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", "[EMAIL]", exact=("@",)),
]

# A card number: 13-19 digits, optionally grouped by single spaces or dashes, not part
# of a longer id (block ids like blk_-2918118818249673980 are preceded by '-').
_CARD = re.compile(r"(?<![\w.-])[2-6](?:[ -]?\d){12,18}(?![\w-])")
_HIGH_ENTROPY = re.compile(r"(?<![\w/+=-])[A-Za-z0-9+/_=-]{32,}(?![\w/+=-])")
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.]|\.\d)")
_IPV6 = re.compile(r"(?i)(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])")


def _mask_ipv6(match: re.Match[str]) -> str:
    # The pattern also matches clock times ("15:42:50"); only real addresses go.
    try:
        ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[IP]"


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


def _apply_rules(text: str, *, guarded: bool) -> str:
    lowered = text.lower()
    for pattern, repl, lower, exact in _RULES:
        if not guarded or any(part in lowered for part in lower) or any(part in text for part in exact):
            text, changed = pattern.subn(repl, text)
            if changed:
                lowered = text.lower()  # later guards look at what is left
    return text


def redact(text: str, *, mask_ips: bool = False) -> str:
    """`text` with secrets and personal data replaced by labelled masks."""
    if not isinstance(text, str):
        text = str(text)
    # Unicode case folding lets (?i) match letters that lower() keeps apart ("ſ" ~ "s"):
    # guards hold for ASCII text only, anything else gets every rule.
    text = _apply_rules(text, guarded=text.isascii())
    text = _CARD.sub(_mask_card, text)
    text = _HIGH_ENTROPY.sub(_mask_high_entropy, text)
    if mask_ips:
        text = _IPV4.sub("[IP]", text)
        text = _IPV6.sub(_mask_ipv6, text)
    return text
