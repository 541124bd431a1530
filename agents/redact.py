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

_Rule = tuple[re.Pattern[str], "str | Callable[[re.Match[str]], str]"]

# Order matters: structured forms first (they keep the field name), then bare tokens.
_RULES: list[_Rule] = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
     "[REDACTED_PRIVATE_KEY]"),
    # Authorization / Proxy-Authorization headers, whatever the scheme.
    (re.compile(r"(?i)\b((?:proxy-)?authorization\"?\s*[:=]\s*\"?)(?:(bearer|basic|token|digest|bot)\s+)?[^\s\",;]+"),
     lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}{MASK}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # Credentials inside URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@\"']*):[^\s/@\"']+@"), rf"\1:{MASK}@"),
    # JSON fields: "password": "value"
    (re.compile(rf"(?i)(\"(?:[\w-]*?)(?:{_SECRET_KEYS})\"\s*:\s*\")(?:[^\"\\]|\\.)*\""), rf'\1{MASK}"'),
    # key=value / key: value (query strings, logfmt, config dumps)
    (re.compile(rf"(?i)\b([\w-]*?(?:{_SECRET_KEYS}))(\s*[=:]\s*)(?!\[REDACTED)[\"']?[^\s,;&\"'<>]+[\"']?"),
     rf"\1\2{MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), "[REDACTED_JWT]"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "[REDACTED_SLACK_TOKEN]"),
    (re.compile(r"\bxapp-\d-[A-Za-z0-9-]{10,}"), "[REDACTED_SLACK_TOKEN]"),
    (re.compile(r"(?i)hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"),
     "hooks.slack.com/[REDACTED_SLACK_WEBHOOK]"),
    (re.compile(r"(?i)discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]+"),
     "discord.com/api/webhooks/[REDACTED_WEBHOOK]"),
    (re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"), "[REDACTED_TELEGRAM_TOKEN]"),
    (re.compile(r"\bATATT3[A-Za-z0-9_=-]{20,}"), "[REDACTED_ATLASSIAN_TOKEN]"),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"), "[REDACTED_GITHUB_TOKEN]"),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b"), "[REDACTED_AWS_KEY]"),
    (re.compile(r"\bsk-ant-[A-Za-z0-9_-]{16,}"), "[REDACTED_ANTHROPIC_KEY]"),
    (re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), "[REDACTED_OPENAI_KEY]"),
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"), "[REDACTED_STRIPE_KEY]"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "[REDACTED_GOOGLE_KEY]"),
    (re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), "[EMAIL]"),
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


def redact(text: str, *, mask_ips: bool = False) -> str:
    """`text` with secrets and personal data replaced by labelled masks."""
    if not isinstance(text, str):
        text = str(text)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    text = _CARD.sub(_mask_card, text)
    text = _HIGH_ENTROPY.sub(_mask_high_entropy, text)
    if mask_ips:
        text = _IPV4.sub("[IP]", text)
        text = _IPV6.sub(_mask_ipv6, text)
    return text
