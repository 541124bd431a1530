"""Keeping configured secrets out of text that leaves the notifier: receipt errors,
dead letters and log records (httpx logs every request URL at INFO, and a Slack or
Discord webhook URL or a Telegram bot token is in that URL).

Must never log, return or store a secret it is given, not even partly.
"""

from __future__ import annotations

import logging
from typing import Iterable

__all__ = ["SecretLogFilter", "scrub"]

MASK = "[secret]"
# Loggers of the HTTP stack that write request URLs.
HTTP_LOGGERS = ("httpx", "httpcore")


def scrub(text: str, secrets: Iterable[str]) -> str:
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class SecretLogFilter(logging.Filter):
    """Rewrites log records of the HTTP stack so no configured secret survives."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            cleaned = scrub(message, self.secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True

    def install(self) -> None:
        for name in HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def uninstall(self) -> None:
        for name in HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self)
