"""Console (the default) and email against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import io
import json
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from agents.notify.channels.console import ConsoleChannel
from agents.notify.config import ConsoleSettings, NotifyConfig
from agents.notify.notifier import Notifier
from tests.unit.notify.conftest import message


async def test_nothing_configured_everything_goes_to_console(tmp_path, clock):
    out = io.StringIO()
    cfg = NotifyConfig.model_validate({"console": {"path": str(tmp_path / "n.jsonl")}})
    console = ConsoleChannel(ConsoleSettings(path=tmp_path / "n.jsonl"), stream=out)
    notifier = Notifier(cfg, store={}, clock=clock, sleep=clock.sleep, channels={"console": console})
    kinds = ["alert", "update", "resolved", "digest", "oneoff_ticket", "ticket_create"]
    for n, kind in enumerate(kinds):
        [receipt] = await notifier.deliver(message(kind, key=f"k{n}", severity="P1"))
        assert (receipt.channel, receipt.status) == ("console", "delivered")
    await notifier.aclose()
    lines = [json.loads(line) for line in (tmp_path / "n.jsonl").read_text().splitlines()]
    assert [line["kind"] for line in lines] == kinds
    assert "[P1] RESOLVED checkout" in out.getvalue() and "Occurrences: 42" in out.getvalue()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.reject_with: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_with:
            return self.reject_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        if auth_data.password == b"smtp-pass-SECRET":
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")

    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield controller, inbox, logins
    controller.stop()


def _email_cfg(controller, password="smtp-pass-SECRET") -> dict:
    return {"email": {"host": "127.0.0.1", "port": controller.port, "starttls": False,
                      "username": "alerts", "password": password, "sender": "logwarden@acme.test",
                      "to": ["oncall@acme.test"]}}


async def test_email_sends_text_and_html_parts_with_auth(make_notifier, smtp_server, java_trace):
    controller, inbox, logins = smtp_server
    notifier = make_notifier(**_email_cfg(controller))
    [receipt] = await notifier.deliver(message(body=java_trace, channels=["email"]))
    assert receipt.status == "delivered"
    assert logins == [(b"alerts", b"smtp-pass-SECRET")]
    [(sender, rcpts, raw)] = inbox.messages
    assert (sender, rcpts) == ("logwarden@acme.test", ["oncall@acme.test"])
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"].startswith("[P2] ALERT checkout")
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "<[REDACTED_EMAIL_ADDRESS]>" in parts["text/plain"]
    assert "&lt;[REDACTED_EMAIL_ADDRESS]&gt;" in parts["text/html"]


async def test_email_wrong_password_is_permanent_and_never_shown(make_notifier, smtp_server, caplog):
    controller, inbox, _ = smtp_server
    notifier = make_notifier(**_email_cfg(controller, password="wrong-pass-SECRET"))
    [receipt] = await notifier.deliver(message(channels=["email"]))
    assert (receipt.status, receipt.attempts, receipt.error.split(":")[0]) == ("failed", 1, "smtp_535")
    assert "wrong-pass-SECRET" not in receipt.error + caplog.text and not inbox.messages


@pytest.mark.parametrize("reply,status,attempts", [("451 4.3.0 Try again later", "delivered", 2),
                                                  ("550 5.1.1 No such user", "failed", 1)])
async def test_smtp_4xx_is_retried_5xx_is_not(make_notifier, smtp_server, reply, status, attempts):
    controller, inbox, _ = smtp_server
    notifier = make_notifier(**_email_cfg(controller))
    inbox.reject_with = reply
    original = inbox.handle_RCPT

    async def once(*args):
        result = await original(*args)
        inbox.reject_with = None if reply.startswith("4") else inbox.reject_with
        return result
    inbox.handle_RCPT = once
    [receipt] = await notifier.deliver(message(channels=["email"]))
    assert (receipt.status, receipt.attempts) == (status, attempts)


async def test_console_file_is_written_under_the_data_dir_not_the_working_directory(tmp_path, monkeypatch):
    from streams.config import load_config

    started_in = tmp_path / "somewhere"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    cfg = load_config(environ={"LOGWARDEN_DATA_DIR": str(tmp_path / "state")})
    console = ConsoleChannel(cfg.notify.under(cfg.data_dir).console, stream=io.StringIO())
    receipt = await console.send(message("alert", key="k1"), {})
    assert receipt.outcome == "delivered"
    [line] = (tmp_path / "state" / "notifications.jsonl").read_text().splitlines()
    assert json.loads(line)["key"] == "k1"
    assert list(started_in.iterdir()) == []


def test_an_absolute_console_path_is_kept(tmp_path):
    cfg = NotifyConfig.model_validate({"console": {"path": str(tmp_path / "elsewhere.jsonl")}})
    assert cfg.under(tmp_path / "state").console.path == tmp_path / "elsewhere.jsonl"
    assert NotifyConfig().under(tmp_path / "state").console.path == tmp_path / "state" / "notifications.jsonl"
