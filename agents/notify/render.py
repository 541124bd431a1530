"""Messages people want to read, built from an `OutboxMessage`, one shape per vendor.

Every rendering shows the same facts in the same order (severity, service, what broke,
since when, how often, incident id, then the ticket and incident links) and stays within
the vendor's limits. Pure: no I/O, no clock, no secrets (a message never contains one).
Must never emit unescaped user text in a markup format (Slack mrkdwn, Telegram HTML,
email HTML): log content is untrusted.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from schemas.records import OutboxMessage

__all__ = [
    "SEVERITY_COLOURS",
    "adf_document",
    "discord_embed",
    "email_parts",
    "facts",
    "headline",
    "link_list",
    "plain_text",
    "slack_payload",
    "status_word",
    "telegram_html",
    "truncate",
]

ELLIPSIS = "…"
_STATUS = {
    "alert": "ALERT", "update": "UPDATE", "resolved": "RESOLVED", "digest": "DIGEST",
    "ticket_create": "TICKET", "ticket_comment": "TICKET UPDATE",
    "ticket_resolve": "TICKET RESOLVED", "oneoff_ticket": "ONE-OFF",
    "approval_request": "APPROVAL NEEDED",
    "alert_edit": "ALERT (edited)",
}
SEVERITY_COLOURS = {"P1": 0xD32F2F, "P2": 0xF57C00, "P3": 0xFBC02D, "P4": 0x1976D2}
_RESOLVED_COLOUR = 0x388E3C
# Fields with a fixed place and label; any other field follows, sorted by name.
_KNOWN_FIELDS = (("what", "What broke"), ("since", "Since"), ("occurrences", "Occurrences"),
                 ("expires_at", "Decide by"), ("approval_id", "Approval id"))
_TIMES = frozenset({"since", "expires_at"})
_LINK_ORDER = ("ticket", "incident")
# Fields for machines (a vendor's idempotency, the registry): carried, never shown to people.
# A proposal's runbook, command and mode are in its body already; the rest steer channels.
_MACHINE_FIELDS = frozenset({"fingerprint", "entry_id", "oncall_acknowledged", "pagerduty_action",
                             "priority_raised", "escalated", "slack_buttons", "runbook", "command", "dry_run",
                             "service", "incident_id"})


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS if limit > 0 else ""


def status_word(msg: OutboxMessage) -> str:
    return _STATUS.get(msg.kind, msg.kind.upper())


def headline(msg: OutboxMessage) -> str:
    """`[P1] ALERT checkout: DB connection refused`, or `[P1] ALERT MemoryError at POST /v1/orders
    on checkout` when the title names the service already (no severity or service: left out)."""
    parts = [f"[{msg.severity}]"] if msg.severity else []
    word = status_word(msg)
    parts.append(word)
    title = msg.title
    # The status is said once, in front: "[P2] UPDATE search: Update [P2] search: ..." and
    # "TICKET RESOLVED Resolved: ..." were the update's and the resolved ticket's headlines.
    last = word.split()[-1].lower()
    if title.lower().startswith((f"{last}: ", f"{last} ")):
        title = title[len(last) + 1:].lstrip(": ")
    if msg.severity and title.startswith(f"[{msg.severity}] "):  # said once, in front
        title = title[len(msg.severity) + 3:]
    if msg.service and not title.endswith(f" on {msg.service}") and not title.startswith(f"{msg.service}:"):
        title = f"{msg.service}: {title}"  # the service is named once
    return " ".join(parts) + " " + title


def _when(value: str) -> str:
    try:
        at = float(value)
    except ValueError:
        return value
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def facts(msg: OutboxMessage) -> list[tuple[str, str]]:
    """(label, value) pairs in the one order every channel uses."""
    out: list[tuple[str, str]] = []
    if msg.severity:
        out.append(("Severity", msg.severity))
    if msg.service:
        out.append(("Service", msg.service))
    for key, label in _KNOWN_FIELDS:
        if msg.fields.get(key):
            out.append((label, _when(msg.fields[key]) if key in _TIMES else msg.fields[key]))
    if msg.incident_id:
        out.append(("Incident", msg.incident_id))
    known = {key for key, _ in _KNOWN_FIELDS} | _MACHINE_FIELDS
    for key in sorted(msg.fields):
        if key not in known and msg.fields[key]:
            out.append((key.replace("_", " ").capitalize(), msg.fields[key]))
    return out


def link_list(msg: OutboxMessage) -> list[tuple[str, str]]:
    """(label, url), ticket first, then the incident, then the rest by name."""
    names = [n for n in _LINK_ORDER if msg.links.get(n)]
    names += sorted(n for n in msg.links if n not in _LINK_ORDER and msg.links[n])
    return [(name.replace("_", " ").capitalize(), msg.links[name]) for name in names]


def plain_text(msg: OutboxMessage, limit: int = 10_000) -> str:
    lines = [headline(msg), ""]
    if msg.body:
        lines += [msg.body, ""]
    lines += [f"{label}: {value}" for label, value in facts(msg)]
    lines += [f"{label}: {url}" for label, url in link_list(msg)]
    return truncate("\n".join(lines).rstrip(), limit)


# --- Slack (Block Kit): header text <= 150, section text <= 3000, <= 10 fields. -------

def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(msg: OutboxMessage) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(headline(msg), 150)}},
    ]
    if msg.body:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": truncate(_slack_escape(msg.body), 3000)}})
    fields = [{"type": "mrkdwn", "text": truncate(f"*{label}*\n{_slack_escape(value)}", 2000)}
              for label, value in facts(msg)[:10]]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    links = link_list(msg)
    if links:
        text = "  ".join(f"<{url}|{_slack_escape(label)}>" for label, url in links)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]})
    # `text` is the notification and screen-reader fallback for the blocks.
    return {"text": truncate(headline(msg), 3000), "blocks": blocks}


# --- Telegram (HTML parse mode, 4096 characters). -------------------------------------

def _escape_to_fit(text: str, budget: int) -> str:
    """HTML-escaped `text`, cut (never inside an entity) so the result fits `budget`."""
    escaped = html.escape(text, quote=False)
    if len(escaped) <= budget:
        return escaped
    out: list[str] = []
    used = 0
    for char in text:
        piece = html.escape(char, quote=False)
        if used + len(piece) > budget - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + ELLIPSIS


def telegram_html(msg: OutboxMessage, limit: int = 4096) -> str:
    head = f"<b>{html.escape(headline(msg), quote=False)}</b>"
    fact_lines = [f"<b>{html.escape(label, quote=False)}:</b> {html.escape(value, quote=False)}"
                  for label, value in facts(msg)]
    link_line = " | ".join(f'<a href="{html.escape(url)}">{html.escape(label, quote=False)}</a>'
                           for label, url in link_list(msg))
    tail = "\n".join(fact_lines + ([link_line] if link_line else []))
    fixed = len(head) + len(tail) + 4
    if fixed >= limit:
        # Facts alone are too long: keep the headline and escaped, cut plain text.
        return head + "\n" + _escape_to_fit(plain_text(msg), limit - len(head) - 1)
    body = _escape_to_fit(msg.body, limit - fixed) if msg.body else ""
    return "\n\n".join(part for part in (head, body, tail) if part)


# --- Discord (embed: title 256, description 4096, 25 fields, 6000 in total). ----------

def _embed_chars(embed: dict[str, Any]) -> int:
    return len(embed["title"]) + len(embed.get("description", "")) + sum(
        len(f["name"]) + len(f["value"]) for f in embed["fields"])


def discord_embed(msg: OutboxMessage) -> dict[str, Any]:
    colour = _RESOLVED_COLOUR if msg.kind in ("resolved", "ticket_resolve") else \
        SEVERITY_COLOURS.get(msg.severity, 0x607D8B)
    embed: dict[str, Any] = {
        "title": truncate(headline(msg), 256),
        "color": colour,
        "fields": [{"name": truncate(label, 256), "value": truncate(value, 1024), "inline": True}
                   for label, value in facts(msg)[:24]],
    }
    links = link_list(msg)
    if links:
        embed["url"] = links[0][1]
        embed["fields"].append({"name": "Links", "value": truncate(
            " · ".join(f"[{label}]({url})" for label, url in links), 1024), "inline": False})
    # The 6000-character total is shared: the description gets what the rest leaves.
    while _embed_chars(embed) > 5000 and len(embed["fields"]) > 1:
        embed["fields"].pop(-2 if links else -1)
    embed["description"] = truncate(msg.body, min(4096, 6000 - _embed_chars(embed)))
    if msg.at:
        embed["timestamp"] = datetime.fromtimestamp(msg.at, tz=timezone.utc).isoformat()
    return embed


# --- Jira (Atlassian Document Format). --------------------------------------------------

def _adf_text(text: str, href: str = "", strong: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    marks = ([{"type": "strong"}] if strong else []) + \
        ([{"type": "link", "attrs": {"href": href}}] if href else [])
    if marks:
        node["marks"] = marks
    return node


def adf_document(msg: OutboxMessage, footer: str = "") -> dict[str, Any]:
    content: list[dict[str, Any]] = [
        {"type": "paragraph", "content": [_adf_text(headline(msg), strong=True)]}]
    for para in (p for p in msg.body.split("\n\n") if p.strip()):
        content.append({"type": "paragraph", "content": [_adf_text(truncate(para, 30_000))]})
    items = [(label, value, "") for label, value in facts(msg)] + \
        [(label, url, url) for label, url in link_list(msg)]
    if items:
        content.append({"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [
                _adf_text(f"{label}: ", strong=True), _adf_text(value, href=href)]}]}
            for label, value, href in items]})
    if footer:
        content.append({"type": "paragraph", "content": [_adf_text(footer)]})
    return {"type": "doc", "version": 1, "content": content}


# --- Email (subject, text part, HTML part). ---------------------------------------------

def email_parts(msg: OutboxMessage) -> tuple[str, str, str]:
    subject = truncate(headline(msg), 200).replace("\n", " ")
    rows = "".join(f"<tr><th align=\"left\">{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
                   for label, value in facts(msg))
    links = " | ".join(f'<a href="{html.escape(url)}">{html.escape(label)}</a>'
                       for label, url in link_list(msg))
    body = "".join(f"<p>{html.escape(p)}</p>" for p in msg.body.split("\n\n") if p.strip())
    doc = (f"<html><body><h2>{html.escape(headline(msg))}</h2>{body}"
           f"<table>{rows}</table><p>{links}</p></body></html>")
    return subject, plain_text(msg, limit=100_000), doc
