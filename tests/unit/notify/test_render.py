"""Rendering: the same facts in every channel, escaping of untrusted log text, limits."""

from __future__ import annotations

import html
import re

from agents.notify import render
from tests.unit.notify.conftest import message

# Angle brackets as they occur in the real Java trace of tests/data/notify.
ANGLE = "<[REDACTED_EMAIL_ADDRESS]>"


def test_headline_and_facts_carry_what_a_responder_needs():
    msg = message()
    assert render.headline(msg) == "[P2] ALERT checkout: upstream connect() failed (111: Connection refused)"
    labels = [label for label, _ in render.facts(msg)]
    assert labels == ["Severity", "Service", "What broke", "Since", "Occurrences", "Incident"]
    assert dict(render.facts(msg))["Since"] == "2024-10-06 07:42:07 UTC"
    assert [label for label, _ in render.link_list(msg)] == ["Ticket", "Incident"]


def test_each_kind_says_what_happened():
    words = {kind: render.status_word(message(kind)) for kind in ("alert", "update", "resolved", "oneoff_ticket")}
    assert words == {"alert": "ALERT", "update": "UPDATE", "resolved": "RESOLVED", "oneoff_ticket": "ONE-OFF"}


def test_telegram_html_escapes_real_log_text_and_fits_4096(java_trace):
    msg = message(body=java_trace * 20)  # a real stack trace with <...> in it, far too long
    text = render.telegram_html(msg)
    assert len(text) <= 4096
    visible = html.unescape(re.sub(r"</?(b|a)( href=\"[^\"]*\")?>", "", text))
    assert ANGLE in visible  # shown to the reader as written ...
    assert ANGLE not in text  # ... and never sent as a tag
    assert re.search(r"&[a-z]*…", text) is None  # never cut inside an entity
    assert "Occurrences:</b> 42" in text  # the facts survive the cut body


def test_slack_blocks_escape_and_stay_within_block_limits(nginx_log):
    msg = message(body=nginx_log * 10, title="a" * 400)
    payload = render.slack_payload(msg)
    header, section = payload["blocks"][0], payload["blocks"][1]
    assert len(header["text"]["text"]) <= 150
    assert len(section["text"]["text"]) <= 3000
    assert "<" not in section["text"]["text"].replace("&lt;", "")
    assert payload["blocks"][-1]["elements"][0]["text"].startswith("<https://acme.atlassian.test/browse/OPS-1|Ticket>")


def test_discord_embed_respects_every_limit(java_trace):
    many = {f"field_{i}": "v" * 900 for i in range(30)}
    embed = render.discord_embed(message(body=java_trace * 50, title="t" * 500, fields=many))
    total = len(embed["title"]) + len(embed["description"]) + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
    assert len(embed["fields"]) <= 25 and total <= 6000
    assert embed["fields"][-1]["name"] == "Links"


def test_resolved_looks_different_from_alert():
    assert render.discord_embed(message("resolved"))["color"] != render.discord_embed(message("alert"))["color"]


def test_adf_is_a_document_with_links_and_footer():
    doc = render.adf_document(message(), footer="logwarden delivery k1")
    assert doc["type"] == "doc" and doc["version"] == 1
    hrefs = [m["attrs"]["href"] for block in doc["content"] if block["type"] == "bulletList"
             for item in block["content"] for node in item["content"][0]["content"] for m in node.get("marks", [])
             if m["type"] == "link"]
    assert hrefs == ["https://acme.atlassian.test/browse/OPS-1", "https://logwarden.test/incidents/inc-checkout-1"]
    assert doc["content"][-1]["content"][0]["text"] == "logwarden delivery k1"


def test_email_html_part_escapes_and_text_part_is_readable(java_trace):
    subject, text, page = render.email_parts(message(body=java_trace))
    assert subject.startswith("[P2] ALERT checkout")
    assert ANGLE in text and html.escape(ANGLE) in page and ANGLE not in page


def test_headline_names_the_severity_and_the_service_once():
    """A Jira summary read "[P1] TICKET checkout: [P1] MemoryError at POST /v1/orders on checkout"."""
    from agents.notify.render import headline
    from tests.unit.notify.conftest import message

    ticket = message("ticket_create", severity="P1", title="[P1] MemoryError at POST /v1/orders on checkout")
    assert headline(ticket) == "[P1] TICKET MemoryError at POST /v1/orders on checkout"
    plain = message("alert", severity="P2", title="upstream connection refused")
    assert headline(plain) == "[P2] ALERT checkout: upstream connection refused"
    # The update's and the resolved ticket's titles, as the lifecycle writes them (seen in `up --demo`).
    update = message("update", severity="P2", service="search", title="Update [P2] search: HTTP 504 at GET /api/search")
    assert headline(update) == "[P2] UPDATE search: HTTP 504 at GET /api/search"
    resolved = message("ticket_resolve", severity="P2", service="search",
                       title="Resolved: HTTP 504 at GET /api/search on search")
    assert headline(resolved) == "[P2] TICKET RESOLVED HTTP 504 at GET /api/search on search"
    # A title that only begins with the word is left whole.
    assert headline(message("update", severity="P3", title="Updater crashed")).endswith("checkout: Updater crashed")
