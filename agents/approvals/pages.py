"""The small HTML pages of the signed links: a confirmation, and what happened.

A GET never decides (link scanners and chat unfurlers fetch links): the confirmation's
button POSTs the same signed query. Every value is escaped; a page never shows the
signature or any secret.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from agents.approvals.links import SignedLink

__all__ = ["confirmation_page", "outcome_page"]

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}"
          "button{font-size:1.1rem;padding:.5rem 1.5rem}textarea{width:100%}")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")


def confirmation_page(link: SignedLink, runbook: str = "", command: str = "", dry_run: bool = True) -> str:
    verb = "Approve" if link.action == "approve" else "Escalate"
    what = f" (runbook <code>{html.escape(runbook)}</code>)" if runbook else ""
    if command:  # what a person approves, said before they press the button
        mode = ("a dry run: it only writes down the command; nothing changes" if dry_run
                else "a REAL run: it changes the system")
        what += f".</p><p>It would run <code>{html.escape(command)}</code>, as {mode}"
    reason = ("<p><label>Why (optional)<br><textarea name=\"reason\" rows=\"3\" maxlength=\"2000\">"
              "</textarea></label></p>")
    action = "/approve-fix?" + urlencode(link.query())
    return _page(f"{verb} the proposed fix?", (
        f"<p>Incident <strong>{html.escape(link.incident_id)}</strong>, proposal "
        f"<code>{html.escape(link.approval_id)}</code>{what}.</p>"
        f"<form method=\"post\" action=\"{html.escape(action)}\">{reason}"
        f"<button type=\"submit\">{verb}</button></form>"
        "<p>Nothing happens until you press the button.</p>"))


def outcome_page(title: str, message: str) -> str:
    return _page(title, f"<p>{html.escape(message)}</p>")
