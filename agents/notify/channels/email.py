"""Email channel: one multipart message (plain text and HTML) over SMTP, STARTTLS when
configured, login when a username is set; smtplib runs in a worker thread.

SMTP replies classify like HTTP statuses: 4xx transient (retry), 5xx permanent, a
dropped connection retryable. Must never put the password in an error or a log line,
and never log the SMTP conversation.
"""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Mapping

from agents.notify.config import EmailSettings
from agents.notify.delivery import DeliveryResult, RateRule
from agents.notify.render import email_parts
from schemas.records import OutboxMessage

__all__ = ["EmailChannel", "smtp_decision"]


def smtp_decision(code: int) -> str:
    return "retryable" if 400 <= code < 500 else "permanent"


class EmailChannel:
    name = "email"

    def __init__(self, settings: EmailSettings, timeout_s: float = 10.0,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.tls_context = tls_context
        self.rate_rules = (RateRule("email", 1, 1.0 / settings.rate_per_s),)

    def vendor_deduplicates(self, msg: OutboxMessage, memory: Mapping[str, str]) -> bool:
        return False

    def build(self, msg: OutboxMessage) -> EmailMessage:
        subject, text, html = email_parts(msg)
        # SMTP allows 998-character lines; the 78 default folds subjects awkwardly.
        mail = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
        mail["Subject"] = subject
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(self.settings.to)
        mail["Date"] = formatdate(msg.at or 0, usegmt=True)
        # A deterministic Message-ID lets mail clients thread and drop repeats.
        mail["Message-ID"] = f"<{hashlib.sha256(msg.key.encode()).hexdigest()[:32]}@logwarden>"
        if msg.incident_id:
            mail["X-Logwarden-Incident"] = msg.incident_id
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        return mail

    def _send_blocking(self, mail: EmailMessage) -> None:
        with smtplib.SMTP(self.settings.host, self.settings.port, timeout=self.timeout_s) as smtp:
            smtp.ehlo()
            if self.settings.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
                smtp.ehlo()
            if self.settings.username:
                smtp.login(self.settings.username, self.settings.password.get_secret_value())
            smtp.send_message(mail)

    async def send(self, msg: OutboxMessage, memory: Mapping[str, str]) -> DeliveryResult:
        mail = self.build(msg)
        try:
            await asyncio.to_thread(self._send_blocking, mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            outcome = smtp_decision(codes[0] if codes else 550)
            return DeliveryResult(outcome, reason=f"smtp_{codes[0] if codes else 550}",  # type: ignore[arg-type]
                                  error=f"recipients refused (SMTP {codes})")
        except smtplib.SMTPResponseException as exc:
            outcome = smtp_decision(exc.smtp_code)
            return DeliveryResult(outcome, reason=f"smtp_{exc.smtp_code}",  # type: ignore[arg-type]
                                  error=f"SMTP {exc.smtp_code} ({type(exc).__name__})")
        except smtplib.SMTPNotSupportedError:
            return DeliveryResult.permanent("smtp_not_supported", "server lacks STARTTLS or AUTH")
        except (smtplib.SMTPException, OSError) as exc:
            return DeliveryResult.retryable("network", f"SMTP connection failed ({type(exc).__name__})")
        return DeliveryResult.delivered(external_ref=mail["Message-ID"])
