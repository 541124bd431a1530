"""The console's board as HTML: open incidents first, worst first, then recent ones and known issues.

Rendered on the server from `view.console_view`; the page's script swaps it in when it
changes. Every value is escaped here and nothing else writes markup, so log text cannot
become markup. Must never render a secret: it is given none. Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import Any, Mapping

__all__ = ["ago", "render_board", "utc"]

_FIX_STATES = {
    "approved": "approved{who}; sent to the executor",
    "running": "running now",
    "verifying": "ran; checking that the errors stop",
    "verified": "verified: the errors stopped after it ran",
    "failed": "failed: errors went on after it ran, or the run did not end ok; escalated",
    "escalated": "escalated: on-call paged, nothing will run",
    "expired": "expired: nobody decided in time",
    "withdrawn": "withdrawn: the incident was over before anyone decided",
}


def utc(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(float(ts), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(ts: float | None, now: float) -> str:
    """"4 min ago" (or "in 4 min" for a time still ahead, like an expiry)."""
    if ts is None:
        return ""
    s = int(now - float(ts))
    d = abs(s)
    if d < 10:
        return "just now"
    if d < 60:
        text = f"{d} s"
    elif d < 3600:
        text = f"{d // 60} min"
    elif d < 86400:
        text = f"{d // 3600} h {d % 3600 // 60} min"
    else:
        text = f"{d // 86400} d"
    return f"in {text}" if s < 0 else f"{text} ago"


def _e(value: Any) -> str:
    return escape(str(value if value is not None else ""), quote=True)


def _when(ts: float | None, now: float) -> str:
    if ts is None:
        return "—"
    iso = datetime.fromtimestamp(float(ts), tz=timezone.utc).isoformat()
    return (f'<time datetime="{_e(iso)}">{_e(utc(ts))}</time> '
            f'<span class="ago" data-ts="{float(ts):.3f}">{_e(ago(ts, now))}</span>')


def _sev(severity: str) -> str:
    return f'<span class="sev sev-{_e(severity or "none")}">{_e(severity or "P?")}</span>'


def _fix(fix: Mapping[str, Any] | None, now: float) -> str:
    if not fix:
        return ""
    status = fix["status"]
    mode = "DRY RUN" if fix["dry_run"] else "REAL RUN"
    argv = " ".join(fix["argv"]) or "(command not known here)"
    approval = _e(fix["approval_id"])
    head = (f'<div class="fix fix-{_e(status)}" data-approval="{approval}" data-fix-status="{_e(status)}">'
            f'<div class="fix-head">{"Proposed fix" if fix["pending"] else "Fix"}: <b>{_e(fix["runbook"] or "?")}</b>'
            f' <span class="mode mode-{"dry" if fix["dry_run"] else "real"}">{mode}</span></div>')
    body = f'<div class="fix-summary">{_e(fix["summary"])}</div>' if fix["summary"] else ""
    if fix["origin"] == "review":
        body += '<div class="muted">proposed by the review after the incident resolved</div>'
    body += f'<div class="fix-argv">{"Would run" if fix["pending"] else "Command"}: <code>{_e(argv)}</code></div>'
    if fix["pending"] and fix["expires_at"] and float(fix["expires_at"]) <= now:
        # Past its time: the reducer expires it at its next event and would refuse a decision.
        body += f'<div class="fix-state">expired: nobody decided by {_when(fix["expires_at"], now)}</div>'
    elif fix["pending"]:
        body += ('<div class="fix-buttons">'
                 f'<button class="approve" data-act="approve" data-approval="{approval}">Approve</button> '
                 f'<button class="escalate" data-act="escalate" data-approval="{approval}">Escalate…</button>'
                 '</div>')
        if fix["by"]:
            body += (f'<div class="fix-state">approved by {_e(", ".join(fix["by"]))}: a P1 needs a second, '
                     'different approver</div>')
        if fix["expires_at"]:
            body += f'<div class="muted">expires {_when(fix["expires_at"], now)} if nobody decides</div>'
    else:
        who = f" by {', '.join(fix['by'])}" if fix["by"] else ""
        said = _FIX_STATES.get(status, status)
        if "{who}" in said:  # the state names who decided itself
            said, who = said.format(who=who), ""
        why = f" — “{fix['reason']}”" if fix["reason"] else ""
        outcome = f" ({fix['outcome']})" if fix["outcome"] else ""
        body += f'<div class="fix-state">{_e(said)}{_e(who)}{_e(outcome)}{_e(why)}</div>'
        if status == "verifying" and fix["verify_until"]:
            body += f'<div class="muted">watching until {_when(fix["verify_until"], now)}</div>'
    return head + body + "</div>"


def _findings(findings: list[Mapping[str, Any]], now: float) -> str:
    rows = []
    for f in findings:
        where = " ".join(x for x in (f["endpoint"], f["error_type"]) if x and x not in f["label"])
        extra = f' <span class="muted">{_e(where)}</span>' if where else ""
        src = f' <span class="muted">({_e(f["source"])} {_e(f["status"])})</span>' if f["kind"] != "log" else ""
        rows.append(f'<li><span class="count">×{f["count"]}</span> '
                    f'<span class="label">{_e(f["label"])}</span>{extra}{src}'
                    f' <span class="muted">last {_when(f["last_seen"], now)}</span></li>')
    return f'<ul class="findings">{"".join(rows)}</ul>' if rows else '<p class="muted">no findings</p>'


def _timeline(incident: Mapping[str, Any], now: float) -> str:
    rows = [f'<li>{_when(e["at"], now)} — {_e(e["text"])}</li>' for e in incident["timeline"]]
    hidden = incident.get("timeline_hidden", 0)
    more = f'<li class="muted">{hidden} earlier entries not shown</li>' if hidden else ""
    return f'<ol class="timeline">{"".join(rows)}{more}</ol>'


def _details(key: str, title: str, body: str, open_: bool) -> str:
    return (f'<details data-key="{_e(key)}"{" open" if open_ else ""}><summary>{_e(title)}</summary>'
            f"{body}</details>")


def _card(i: Mapping[str, Any], now: float) -> str:
    iid = i["incident_id"]
    tickets = ", ".join(i["tickets"]) or "none yet"
    ack = (f' · acknowledged by {_e(i["acknowledged_by"])}' if i["acknowledged_by"] else "")
    if i.get("escalated"):
        ack += ' · <b class="escalated">escalated: on-call paged</b>'
    status = f'<span class="status status-{_e(i["status"])}">{_e(i["status"].upper())}</span>'
    head = (f'<header>{_sev(i["severity"])} {status} '
            f'<h3>{_e(i["title"])}</h3></header>'
            f'<div class="meta"><b class="service">{_e(i["service"])}</b> · opened {_when(i["opened_at"], now)}'
            f' · last error {_when(i["last_issue_at"], now)}{ack}'
            + (f' · resolved {_when(i["resolved_at"], now)}' if i["resolved_at"] else "")
            + f' · tickets: <span class="tickets">{_e(tickets)}</span>'
            + (f' · reopened {i["reopen_count"]}×' if i["reopen_count"] else "")
            + f' · id <span class="muted">{_e(iid)}</span></div>')
    actions = ""
    if i["status"] != "resolved":
        ack_button = ('<button data-act="acknowledge">Acknowledge</button> ' if i["status"] == "open" else "")
        actions = ('<div class="actions"><input class="text" type="text" maxlength="500" '
                   'placeholder="note, or why you escalate / resolve" aria-label="text for the action"> '
                   f'{ack_button}<button data-act="note">Add note</button> '
                   '<button data-act="resolve">Resolve</button></div>')
    else:
        actions = '<div class="actions"><button data-act="close">Close</button></div>'
    ai = ""
    if i["summary"]:
        ai += _details(f"{iid}:summary", "Summary", f'<div class="ai">{_e(i["summary"])}</div>', True)
    if i["report"]:
        ai += _details(f"{iid}:report", "Resolution report", f'<div class="ai">{_e(i["report"])}</div>', False)
    return (f'<article class="incident incident-{_e(i["severity"] or "none")}" '
            f'data-incident="{_e(iid)}" data-status="{_e(i["status"])}">{head}{_fix(i["fix"], now)}{actions}{ai}'
            + _details(f"{iid}:findings", f'Findings ({len(i["findings"])})', _findings(i["findings"], now), True)
            + _details(f"{iid}:timeline", f'Timeline ({len(i["timeline"]) + i.get("timeline_hidden", 0)})',
                       _timeline(i, now), i["status"] != "resolved")
            + "</article>")


def _closed_row(i: Mapping[str, Any], now: float) -> str:
    return (f'<tr data-incident="{_e(i["incident_id"])}"><td>{_sev(i["severity"])}</td><td>{_e(i["service"])}</td>'
            f'<td>{_e(i["title"])}</td><td>{_when(i["opened_at"], now)}</td><td>{_when(i["resolved_at"], now)}</td>'
            f'<td>{_e(", ".join(i["tickets"]))}</td></tr>')


def _registry(entries: list[Mapping[str, Any]], now: float) -> str:
    if not entries:
        return '<p class="muted">no known issues on this worker</p>'
    rows = "".join(
        f'<tr><td>{_sev(e["severity"])}</td><td>{_e(e["service"])}</td><td>{_e(e["label"])}'
        + (f'<div class="muted">{_e(e["summary"])}</div>' if e["summary"] else "")
        + f'</td><td>{_e(e["ticket"] or "—")}</td><td>{e["occurrences"]}</td>'
        + f'<td>{_when(e["last_seen"], now)}</td></tr>'
        for e in entries)
    return ('<table class="registry"><thead><tr><th>sev</th><th>service</th><th>issue</th><th>ticket</th>'
            f'<th>seen</th><th>last seen</th></tr></thead><tbody>{rows}</tbody></table>')


def render_board(view: Mapping[str, Any], now: float) -> str:
    """The board's HTML (the part of the page that changes), from `console_view`."""
    parts = []
    if view["partial"]:
        held = ", ".join(map(str, view["partitions"])) or "none"
        parts.append(f'<div class="banner partial">This worker holds partitions {_e(held)} of '
                     f'{view["total_partitions"]}: incidents of services on other workers are not listed here. '
                     "Open their consoles too, or ask <code>GET /incidents?service=NAME</code>.</div>")
    active = view["active"]
    parts.append(f'<section id="active"><h2>Open incidents ({len(active)})</h2>')
    parts.append("".join(_card(i, now) for i in active) or '<p class="calm">No open incidents.</p>')
    parts.append("</section>")
    parts.append(view.get("charts", ""))  # pre-rendered, escaped SVG (`chart.charts_html`)
    recent = view["recent"]
    resolved_cards = "".join(_card(i, now) for i in recent if i["status"] == "resolved")
    closed = "".join(_closed_row(i, now) for i in recent if i["status"] == "closed")
    parts.append('<section id="recent"><h2>Recently resolved</h2>' + resolved_cards)
    if closed:
        parts.append('<table class="closed"><thead><tr><th>sev</th><th>service</th><th>incident</th><th>opened</th>'
                     f'<th>resolved</th><th>tickets</th></tr></thead><tbody>{closed}</tbody></table>')
    if not recent:
        parts.append('<p class="muted">nothing resolved recently</p>')
    parts.append("</section>")
    parts.append(f'<section id="registry"><h2>Known issues ({len(view["registry"])})</h2>'
                 f'{_registry(view["registry"], now)}</section>')
    return "".join(parts)
