"""Redaction: realistic secrets of every kind never reach a model's request log."""

from __future__ import annotations

import pytest

from agents.ai.service import AIService
from agents.redact import redact
from tests.unit.ai.conftest import FakeClock, classify_request, finding
from tests.unit.ai.fakes import anthropic_tool_reply, openai_reply

# (kind, the log text, the secret part that must disappear). Fake but realistically shaped.
SECRETS = [
    ("slack bot token", "posting with xoxb-2718281828-3141592653589-AbCdEfGhIjKlMnOpQrStUvWx failed",
     "xoxb-2718281828-3141592653589-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("slack webhook", "POST https://hooks.slack.com/services/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 -> 404",
     "q7Wm2xK9pLr4TvZ8nYb3Hc5D"),
    ("telegram bot token", "GET https://api.telegram.org/bot7312456789:AAHk3x9Qm2Lp7Rt5Vw8Yz1Bc4Df6Gh0JkLm/sendMessage 401",
     "AAHk3x9Qm2Lp7Rt5Vw8Yz1Bc4Df6Gh0JkLm"),
    ("atlassian api token", "jira auth with ATATT3xFfGF0T6Qv2mZ8kLp4Rw9Ys1Nd7Hc3Bx5Jt=9A1B2C3D failed",
     "ATATT3xFfGF0T6Qv2mZ8kLp4Rw9Ys1Nd7Hc3Bx5Jt"),
    ("github token", "git clone https://ghp_R8k2mZx7Lp4Qw9Ys1Nd7Hc3Bx5JtVb6Fg0Ae@github.com/acme/app.git",
     "ghp_R8k2mZx7Lp4Qw9Ys1Nd7Hc3Bx5JtVb6Fg0Ae"),
    ("github fine-grained", "token github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefghijkl used",
     "github_pat_11ABCDEFG0aBcDeFgHiJkL"),
    ("aws access key id", "boto3: AKIAZ3QWERTYUIOP7ASD is not authorized", "AKIAZ3QWERTYUIOP7ASD"),
    ("aws secret key", "env AWS_SECRET_ACCESS_KEY=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 loaded",
     "Zx8kLp4Qw9Ys1Nd7Hc3Bx5JtVb6Fg0AeR2mT7uW1"),
    ("anthropic key", "anthropic client key=sk-ant-api03-Qw9Ys1Nd7Hc3Bx5JtVb6Fg0AeR2mT7uW1zK4pL8xN-AA rejected",
     "Qw9Ys1Nd7Hc3Bx5JtVb6Fg0AeR2mT7uW1zK4pL8xN"),
    ("openai key", "openai.AuthenticationError: Incorrect API key provided: sk-proj-Hc3Bx5JtVb6Fg0AeR2mT7uW1zK4pL8xNQw9Ys1Nd7",
     "Hc3Bx5JtVb6Fg0AeR2mT7uW1zK4pL8xNQw9Ys1Nd7"),
    ("generic high-entropy key", "x-signature Kp7Qw2Zr9Lm4Xt8Vb1Nc6Hd3Jf5Gs0Ya7Ue2Io9 mismatch",
     "Kp7Qw2Zr9Lm4Xt8Vb1Nc6Hd3Jf5Gs0Ya7Ue2Io9"),
    ("jwt", "invalid token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsaWNlIn0."
     "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ("password in url", "could not connect to postgresql://billing:Tr0ub4dor&3@db-1.internal:5432/billing",
     "Tr0ub4dor&3"),
    ("password field", "login failed user=alice password=CorrectHorse!42 retry=3", "CorrectHorse!42"),
    ("password in json", '{"user": "alice", "password": "s3cr3t \\"quoted\\" pw"}', "s3cr3t"),
    ("authorization header", "headers={'Authorization': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l'}", "YWxhZGRpbjpvcGVuc2VzYW1l"),
    ("bearer header", "Authorization: Bearer ya29.a0AfH6SMBx3kLp9Qw-opaque-token", "ya29.a0AfH6SMBx3kLp9Qw"),
    ("email", "password reset mail to jane.doe+ops@example.co.uk bounced", "jane.doe+ops@example.co.uk"),
    ("card number", "charge failed for card 4539 1488 0343 6467 amount=12.00", "4539 1488 0343 6467"),
    ("private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx8kLp4Qw9Ys1\n-----END RSA PRIVATE KEY-----",
     "MIIEowIBAAKCAQEAx8kLp4Qw9Ys1"),
]


@pytest.mark.parametrize(("kind", "text", "secret"), SECRETS, ids=[s[0] for s in SECRETS])
def test_each_kind_of_secret_is_masked(kind, text, secret):
    assert secret not in redact(text)


def test_ordinary_log_content_is_kept():
    # Ids, digests, timestamps and status codes are what an engineer needs to read.
    text = ("2024-05-01T10:00:00Z blk_-2918118818249673980 sha 3f786850e387550fdab836ed7e6dc881de23001b "
            "id 123e4567-e89b-12d3-a456-426614174000 GET /api/v1/users/42 503 took 1117838570ms from 10.0.0.7")
    assert redact(text) == text
    assert "10.0.0.7" not in redact(text, mask_ips=True) and "[IP]" in redact(text, mask_ips=True)


def test_ipv6_masked_only_when_asked_and_times_kept():
    text = "client 2001:db8::8a2e:370:7334 at 15:42:50"
    assert redact(text, mask_ips=True) == "client [IP] at 15:42:50"


def test_never_raises_on_odd_input():
    for text in ["", "\x00\xff" * 100, "=" * 10_000, "password=" * 50, "4" * 5000]:
        assert isinstance(redact(text), str)


def _secret_finding():
    samples = [text for _, text, _ in SECRETS]
    return finding(samples=samples[:3], template=" | ".join(samples[3:12]),
                   error_type="AuthError " + samples[12], endpoint="POST /login " + samples[13])


def _timeline_request():
    from schemas.ai_tasks import NarrativeInput
    from schemas.records import AIRequest
    f = _secret_finding()
    payload = NarrativeInput(service="api", incident_id="inc-1", severity="P2", opened_at=1.7e9, now=1.7e9 + 600,
                             findings=[f], timeline=[{"at": 1.7e9, "text": t} for _, t, _ in SECRETS[14:]],
                             tickets=["OPS-1"])
    return AIRequest(request_id="r-sum", task="summary", service="api", incident_id="inc-1",
                     payload=payload.model_dump(mode="json"))


async def test_no_secret_reaches_the_anthropic_fake(fake_server, anthropic_cfg):
    fake_server.replies += [anthropic_tool_reply({"severity": "P2", "one_off": False, "category": "security",
                                                  "probable_cause": "auth", "confidence": 0.5}),
                            anthropic_tool_reply({"title": "t", "text": "x"})]
    service = AIService(anthropic_cfg.model_copy(update={"redact_ips": True}), clock=FakeClock())
    await service.handle(classify_request(_secret_finding()))
    await service.handle(_timeline_request())
    await service.aclose()
    log = fake_server.log_text()
    assert len(fake_server.requests) == 2
    leaked = [kind for kind, _, secret in SECRETS if secret in log or secret.replace('"', '\\"') in log]
    assert leaked == []
    assert "[REDACTED" in log and "[EMAIL]" in log and "[CARD]" in log


async def test_no_secret_reaches_the_openai_fake(fake_server, openai_cfg):
    fake_server.replies += [openai_reply({"severity": "P2", "one_off": False, "category": "security",
                                          "probable_cause": "auth", "confidence": 0.5}),
                            openai_reply({"title": "t", "text": "x"})]
    service = AIService(openai_cfg, clock=FakeClock())
    await service.handle(classify_request(_secret_finding()))
    await service.handle(_timeline_request())
    await service.aclose()
    log = fake_server.log_text()
    body_only = "\n".join(r.raw for r in fake_server.requests)
    assert [kind for kind, _, secret in SECRETS if secret in body_only] == []
    # The provider's own key is sent as the Authorization header and nowhere in a body.
    assert openai_cfg.api_key.get_secret_value() not in body_only and "Bearer sk-proj-" in log
