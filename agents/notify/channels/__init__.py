"""The delivery channels, one module each, and the one registry that names them.

A channel is built from the whole `NotifyConfig` (it picks its own section) and the
shared httpx client. Channels are registered here explicitly, never discovered by
scanning the folder.
"""

from __future__ import annotations

from typing import Callable

import httpx

from agents.notify.channels.console import ConsoleChannel
from agents.notify.channels.discord import DiscordChannel
from agents.notify.channels.email import EmailChannel
from agents.notify.channels.jira import JiraChannel
from agents.notify.channels.ntfy import NtfyChannel
from agents.notify.channels.pagerduty import PagerDutyChannel
from agents.notify.channels.slack import SlackChannel
from agents.notify.channels.telegram import TelegramChannel
from agents.notify.channels.webhook import WebhookChannel
from agents.notify.config import NotifyConfig
from agents.notify.delivery import Channel

__all__ = ["CHANNELS", "ChannelFactory"]

ChannelFactory = Callable[[NotifyConfig, httpx.AsyncClient], Channel]

CHANNELS: dict[str, ChannelFactory] = {
    "console": lambda cfg, client: ConsoleChannel(cfg.console),
    "discord": lambda cfg, client: DiscordChannel(cfg.discord, client),
    "email": lambda cfg, client: EmailChannel(cfg.email, timeout_s=cfg.retry.timeout_s),
    "jira": lambda cfg, client: JiraChannel(cfg.jira, client),
    "ntfy": lambda cfg, client: NtfyChannel(cfg.ntfy, client),
    "pagerduty": lambda cfg, client: PagerDutyChannel(cfg.pagerduty, client),
    "slack": lambda cfg, client: SlackChannel(cfg.slack, client),
    "telegram": lambda cfg, client: TelegramChannel(cfg.telegram, client),
    "webhook": lambda cfg, client: WebhookChannel(cfg.webhook, client),
}
