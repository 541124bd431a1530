"""Configuration of the notify stage (section `[notify]` of the TOML file, `LOGWARDEN_NOTIFY__*` variables).

Holds the routes, one settings block per channel, the retry loop, rate limits and how
long delivered keys are remembered. Must never print or log a secret: webhook URLs,
tokens, API keys, routing keys and passwords are `SecretStr` and are only unwrapped
inside a channel, at the moment a request is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = [
    "ConsoleSettings",
    "DiscordSettings",
    "EmailSettings",
    "JiraSettings",
    "NotifyConfig",
    "NtfySettings",
    "PagerDutySettings",
    "RetrySettings",
    "RouteRule",
    "SlackSettings",
    "TelegramSettings",
    "WebhookSettings",
]

Kind = Literal[
    "alert", "update", "resolved", "digest", "ticket_create", "ticket_comment",
    "ticket_resolve", "oneoff_ticket", "approval_request",
]
CHANNEL_NAMES = ("console", "discord", "email", "jira", "ntfy", "pagerduty", "slack",
                 "telegram", "webhook")
_NO_SECRET = SecretStr("")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteRule(_Section):
    """One routing rule; an empty filter matches anything. The first matching rule wins."""

    kinds: list[Kind] = Field(default_factory=list)
    severities: list[Literal["P1", "P2", "P3", "P4", ""]] = Field(default_factory=list)
    # fnmatch patterns on the service name.
    services: list[str] = Field(default_factory=list)
    channels: list[str]

    @model_validator(mode="after")
    def _known_channels(self) -> RouteRule:
        unknown = sorted(set(self.channels) - set(CHANNEL_NAMES))
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}; known: {list(CHANNEL_NAMES)}")
        return self


_INCIDENT_KINDS: list[Kind] = ["alert", "update", "resolved", "approval_request"]


def _default_routes() -> list[RouteRule]:
    # The defaults of the issue: tickets to Jira only (one-offs too, no chat message),
    # P1 to on-call, P2/P3 (and P4) to #backend-alerts, the hourly digest to Slack.
    return [
        RouteRule(kinds=["ticket_create", "ticket_comment", "ticket_resolve", "oneoff_ticket"],
                  channels=["jira"]),
        RouteRule(kinds=["digest"], channels=["slack"]),
        RouteRule(kinds=_INCIDENT_KINDS, severities=["P1"], channels=["telegram", "pagerduty"]),
        RouteRule(kinds=_INCIDENT_KINDS, channels=["slack"]),
    ]


class RetrySettings(_Section):
    # Full-jitter capped exponential backoff: sleep rng() * min(cap, base * 2**n).
    base_s: float = Field(0.5, gt=0)
    cap_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(8, ge=1, le=50)
    # One delivery (all its attempts, sleeps and rate-limit waits) never runs longer.
    deadline_s: float = Field(120.0, gt=0)
    # A Retry-After longer than this is not waited for; the delivery fails instead.
    max_retry_after_s: float = Field(300.0, gt=0)
    timeout_s: float = Field(10.0, gt=0, le=120)


class ConsoleSettings(_Section):
    # A relative path is under the data dir (`NotifyConfig.under`), never the working directory.
    path: Path = Path("notifications.jsonl")
    print: bool = True


class SlackSettings(_Section):
    # Incoming webhook (Block Kit, no edits) ...
    webhook_url: SecretStr = _NO_SECRET
    # ... or a bot token: chat.postMessage once per incident, chat.update afterwards.
    bot_token: SecretStr = _NO_SECRET
    channel: str = "#backend-alerts"
    api_base: str = "https://slack.com/api"
    # Bot mode: also post each update as a reply in the incident's thread.
    thread_updates: bool = True
    # Slack allows about one message per second per webhook / channel.
    rate_per_s: float = Field(1.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url.get_secret_value()) or bool(self.bot_token.get_secret_value())


class TelegramSettings(_Section):
    bot_token: SecretStr = _NO_SECRET
    chat_id: str = ""
    api_base: str = "https://api.telegram.org"
    rate_per_s: float = Field(1.0, gt=0)
    # Groups (chat ids starting with "-") also allow at most 20 messages a minute.
    group_per_minute: int = Field(20, ge=1)

    @property
    def configured(self) -> bool:
        return bool(self.bot_token.get_secret_value() and self.chat_id)


class JiraSettings(_Section):
    base_url: str = ""  # https://<site>.atlassian.net
    email: str = ""
    api_token: SecretStr = _NO_SECRET
    project: str = ""
    issue_type: str = "Bug"
    priorities: dict[str, str] = Field(default_factory=lambda: {
        "P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"})
    oneoff_priority: str = "Low"
    done_status: str = "Done"
    label_prefix: str = "logwarden"
    rate_per_s: float = Field(5.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.email and self.project
                    and self.api_token.get_secret_value())


class PagerDutySettings(_Section):
    routing_key: SecretStr = _NO_SECRET
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    rate_per_s: float = Field(2.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.routing_key.get_secret_value())


class DiscordSettings(_Section):
    webhook_url: SecretStr = _NO_SECRET
    username: str = "Logwarden"
    rate_per_s: float = Field(1.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url.get_secret_value())


class EmailSettings(_Section):
    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    username: str = ""
    password: SecretStr = _NO_SECRET
    sender: str = "logwarden@localhost"
    to: list[str] = Field(default_factory=list)
    rate_per_s: float = Field(1.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.host and self.to)


class NtfySettings(_Section):
    server: str = "https://ntfy.sh"
    # On a public server the topic name is the only protection, so it is a secret.
    topic: SecretStr = _NO_SECRET
    token: SecretStr = _NO_SECRET
    rate_per_s: float = Field(1.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.topic.get_secret_value())


class WebhookSettings(_Section):
    url: SecretStr = _NO_SECRET
    # When set, the body is signed: X-Logwarden-Signature: sha256=<hex HMAC-SHA256>.
    hmac_secret: SecretStr = _NO_SECRET
    rate_per_s: float = Field(5.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.url.get_secret_value())


class NotifyConfig(_Section):
    routes: list[RouteRule] = Field(default_factory=_default_routes)
    # Where a message goes when none of its routed channels is configured.
    fallback_channels: list[str] = Field(default_factory=lambda: ["console"])
    retry: RetrySettings = Field(default_factory=RetrySettings)
    # Delivered keys are remembered this long; a redelivery within it is skipped.
    delivered_ttl_s: float = Field(7 * 86400.0, gt=0)
    # Per-incident memory (message ids, ticket keys) is forgotten after this much silence.
    memory_ttl_s: float = Field(30 * 86400.0, gt=0)

    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    jira: JiraSettings = Field(default_factory=JiraSettings)
    pagerduty: PagerDutySettings = Field(default_factory=PagerDutySettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    ntfy: NtfySettings = Field(default_factory=NtfySettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)

    @model_validator(mode="after")
    def _known_fallbacks(self) -> NotifyConfig:
        unknown = sorted(set(self.fallback_channels) - set(CHANNEL_NAMES))
        if unknown:
            raise ValueError(f"fallback_channels: unknown channel(s) {unknown}")
        return self

    def under(self, data_dir: Path) -> NotifyConfig:
        """This configuration with its relative file paths placed under `data_dir`.

        The notify shell calls it with the top-level `data_dir`, so a local run writes
        `notifications.jsonl` beside its other state, wherever it was started from."""
        if self.console.path.is_absolute():
            return self
        console = self.console.model_copy(update={"path": Path(data_dir) / self.console.path})
        return self.model_copy(update={"console": console})

    def configured_channels(self) -> list[str]:
        """Channels with enough settings to deliver; console always can."""
        return ["console"] + [name for name in CHANNEL_NAMES[1:]
                              if getattr(self, name).configured]

    def secrets(self) -> list[str]:
        """Every secret value set, for scrubbing text that is about to leave."""
        found: list[str] = []
        for name in CHANNEL_NAMES:
            section = getattr(self, name)
            for field in type(section).model_fields:
                value = getattr(section, field)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
        return found
