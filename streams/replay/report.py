"""The post-mortem report of one replay: a plain dict (written as JSON for tools) and its
Markdown rendering.

Per incident: its timeline (every `incidents.events` event), its findings with samples
(from the replay's window summaries), the pages and tickets that were or would have been
sent (the replay's `notify.outbox`), and the log lines of its service around its start.
Pure: the runner reads the topics and hands the records in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable

from schemas.records import IncidentEvent, OutboxMessage, WindowSummary

__all__ = ["PAGE_KINDS", "TICKET_KINDS", "build_report", "per_service", "render_markdown"]

PAGE_KINDS = ("alert", "update", "resolved", "alert_edit")
TICKET_KINDS = ("ticket_create", "oneoff_ticket")
SAMPLES_KEPT = 3


def _iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def build_report(meta: dict[str, Any], events: Iterable[IncidentEvent], outbox: Iterable[OutboxMessage],
                 windows: Iterable[WindowSummary] = (), lines_near: dict[str, list[str]] | None = None,
                 ) -> dict[str, Any]:
    """`meta`: what ran (id, source, range, lines, seconds, AI answers); `lines_near`:
    incident id -> log lines of its service around its start."""
    events = list(events)
    outbox = list(outbox)
    samples: dict[str, list[str]] = {}
    for window in windows:
        for finding in window.findings:
            kept = samples.setdefault(finding.fingerprint, [])
            kept.extend(s for s in finding.samples if s not in kept and len(kept) < SAMPLES_KEPT)
    by_incident: dict[str, dict[str, Any]] = {}
    for ev in events:
        if not ev.incident_id:
            continue
        inc = by_incident.setdefault(ev.incident_id, {
            "incident_id": ev.incident_id, "service": ev.service, "title": ev.title, "severity": ev.severity,
            "opened_at": ev.at, "window_start": ev.data.get("window_start"), "resolved_at": None,
            "status": "open", "timeline": [], "findings": [], "pages": [], "tickets": [],
            "lines_around_start": (lines_near or {}).get(ev.incident_id, [])})
        inc["timeline"].append({"at": ev.at, "type": ev.type, "event_id": ev.event_id, "data": ev.data})
        if ev.severity:
            inc["severity"] = ev.severity
        if ev.type == "resolved":
            inc["status"], inc["resolved_at"] = "resolved", ev.at
        elif ev.type == "reopened":
            inc["status"], inc["resolved_at"] = "open", None
        elif ev.type == "finding_added":
            fp = ev.data.get("fingerprint", "")
            inc["findings"].append({**ev.data, "samples": samples.get(fp, [])})
    notifications = []
    for msg in outbox:
        item = {"at": msg.at, "kind": msg.kind, "key": msg.key, "service": msg.service,
                "incident_id": msg.incident_id, "severity": msg.severity, "title": msg.title}
        notifications.append(item)
        inc = by_incident.get(msg.incident_id)
        if inc is not None and msg.kind in PAGE_KINDS:
            inc["pages"].append(item)
        elif inc is not None and msg.kind in TICKET_KINDS:
            inc["tickets"].append(item)
    incidents = sorted(by_incident.values(), key=lambda i: (i["opened_at"], i["incident_id"]))
    return {
        **meta,
        "incidents": incidents,
        "notifications": notifications,
        "oneoffs": [{"at": ev.at, "service": ev.service, **ev.data} for ev in events if ev.type == "oneoff_ticketed"],
        "events": [ev.model_dump(mode="json") for ev in events],
    }


# What a person reads for an outbox kind in the report (the JSON keeps the kinds).
_KIND_WORDS = {"alert": "first alert", "update": "update", "resolved": "resolution",
               "ticket_create": "ticket opened", "ticket_comment": "ticket comment",
               "ticket_resolve": "ticket resolved", "oneoff_ticket": "one-off ticket",
               "approval_request": "approval asked"}


def _words(token: str) -> str:
    return _KIND_WORDS.get(token) or token.replace("_", " ")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def render_markdown(report: dict[str, Any]) -> str:
    out = [f"# Replay {report.get('replay_id', '')}", ""]
    out.append(f"- source: {report.get('source', '')}")
    if report.get("since") or report.get("until"):
        out.append(f"- range: {_iso(report.get('since')) or 'start'} .. {_iso(report.get('until')) or 'end'} UTC")
    if report.get("lines") is not None:
        out.append(f"- {report['lines']:,} input records in {report.get('seconds', 0):.1f} s "
                   f"({report.get('lines_per_s', 0):,.0f} records/s)")
    ai = report.get("ai") or {}
    if ai:
        line = (f"- AI: {ai.get('requests', 0)} requests, {ai.get('recorded', 0)} answered with the answer "
                f"recorded live, {ai.get('local', 0)} by the local provider (not recorded)")
        if ai.get("expired_live"):
            line += (f", {ai['expired_live']} left unanswered as live (no answer came in time there: "
                     "built-in decision)")
        out.append(line)
    out.append(f"- notifications: {report.get('notify', 'written to the report, sent to nobody')}")
    pages = sum(len(i["pages"]) for i in report["incidents"])
    tickets = sum(len(i["tickets"]) for i in report["incidents"])
    out += [f"- {_count(len(report['incidents']), 'incident', 'incidents')}, {_count(pages, 'page', 'pages')}, "
            f"{_count(tickets, 'ticket', 'tickets')}, "
            f"{_count(len(report.get('oneoffs', [])), 'one-off ticket', 'one-off tickets')}", ""]
    for inc in report["incidents"]:
        out += [f"## {inc['incident_id']}: {inc['title']}", "",
                f"{inc['service']}, {inc['severity'] or 'no severity'}, opened {_iso(inc['opened_at'])}, "
                + (f"resolved {_iso(inc['resolved_at'])}" if inc["resolved_at"] else "still open"), "",
                "### Timeline", ""]
        names = {f.get("fingerprint"): _finding_name(f) for f in inc["findings"]}
        out += [f"- {_iso(t['at'])} {_event_words(t, names)}" for t in inc["timeline"]]
        if inc["findings"]:
            out += ["", "### Findings", ""]
            for f in inc["findings"]:
                count = f.get("count", 0)
                out.append(f"- {_finding_name(f)}: {_count(count, 'time', 'times')} in its first minute"
                           + (f" ({f['level']})" if f.get("level") else ""))
                samples = f.get("samples", [])
                shown = _distinct(samples)
                for sample in shown:
                    out += _sample(sample)
                if len(samples) > len(shown):
                    out.append(f"  - and {len(samples) - len(shown)} more like these but for their numbers")
        if inc["pages"] or inc["tickets"]:
            out += ["", "### Pages and tickets", ""]
            sent = sorted(inc["pages"] + inc["tickets"], key=lambda m: m["at"])
            out += [f"- {_iso(m['at'])} {_words(m['kind'])}: {m['title']}" for m in sent]
        if inc["lines_around_start"]:
            out += ["", "### Log lines around the start", "", "```"]
            out += [line[:400] for line in inc["lines_around_start"]]
            out += ["```"]
        out.append("")
    if report.get("oneoffs"):
        out += ["## One-off errors (ticketed quietly, no page)", ""]
        # What each one was: the title of its ticket (paired in order, per service).
        titles: dict[str, list[str]] = defaultdict(list)
        for msg in report.get("notifications", []):
            if msg.get("kind") == "oneoff_ticket":
                titles[msg["service"]].append(msg.get("title") or "")
        for o in report["oneoffs"]:
            title = titles[o["service"]].pop(0) if titles[o["service"]] else ""
            out.append(f"- {_iso(o['at'])} {o['service']}: {title or 'an error seen once'}")
        out.append("")
    return "\n".join(out)


SAMPLE_LINES = 15  # of a multi-line sample (a traceback) in report.md; report.json has it whole
SAMPLE_WIDTH = 300


def _finding_name(finding: dict[str, Any]) -> str:
    """What a finding was, as its alert names it: "TimeoutError at GET /search"."""
    what = finding.get("error_type") or finding.get("kind") or "an error"
    return f"{what} at {finding['endpoint']}" if finding.get("endpoint") else what


# An event's data keys as words (schemas/contract.py says what each holds).
_UPDATE_WORDS = {"alert": "first alert sent", "summary_edit": "first alert edited: the AI summary added",
                 "update": "update sent"}
_COMMENT_WORDS = {"reappeared": "it came back", "new_finding": "a new error", "report": "the resolution report",
                  "reopened": "reopened", "review": "the review", "summary": "the AI summary",
                  "fix": "the fix", "escalated": "escalated", "acknowledged": "acknowledged", "note": "a note",
                  "closed": "closed"}


# Events said the same way whatever their data holds beyond these pieces (`_event_words`).
_TEMPLATES = {
    "finding_added": "error seen: {finding}",
    "severity_changed": "severity raised from {old} to {new}",
    "ticket_created": "ticket {ticket} opened",
    "ticket_resolved": "ticket set to resolved",
    "registry_added": "known issue recorded: {named}",
    "fix_proposed": "fix proposed: {runbook}, waiting for a person's approval",
    "fix_started": "{runbook} started{dry}",
    "fix_executed": "{runbook} ran: {status}{dry}",
    "fix_verified": "fix verified: no errors in the {verify_s} s after {runbook}",
    "fix_failed": "errors went on after {runbook}: escalated",
    "fix_expired": "fix proposal expired: nobody decided on {runbook}",
    "approval_refused": "approval refused{who}: {reason}",
    "acknowledged": "acknowledged{who}{via}",
    "note_added": "note{who}: {text}",
    "closed": "closed{who}{via}",
}


def _event_words(entry: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """A timeline entry as a sentence, from its type and data; `names`: fingerprint ->
    what the finding was (the incident's findings)."""
    kind, data = entry["type"], entry.get("data") or {}
    named = (names or {}).get(data.get("fingerprint", "")) or "an error"
    runbook = f"runbook {data['runbook']}" if data.get("runbook") else "the runbook"
    who = f" by {data['actor']}" if data.get("actor") else ""
    via = f" ({data['via']})" if data.get("via") else ""
    template = _TEMPLATES.get(kind)
    if template is not None:
        return template.format(
            finding=_finding_name(data), old=data.get("from") or "none", new=data.get("to"), named=named,
            ticket=data.get("ticket") or data.get("label") or "", runbook=runbook, who=who, via=via,
            dry=" (dry run)" if data.get("dry_run") else "", status=data.get("status", ""),
            verify_s=f"{data.get('verify_window_s', 0):.0f}", reason=str(data.get("reason", "")).replace("_", " "),
            text=str(data.get("text", ""))[:200]).replace("  ", " ")
    if kind == "opened":
        return "incident opened" + (", from a fatal line before its minute ended" if data.get("fast_path") else "")
    if kind == "update_posted":
        if data.get("kind") == "realert":
            return f"alerted again: severity {data.get('from') or 'none'} to {data.get('to')}"
        return _UPDATE_WORDS.get(data.get("kind", ""), "notification sent")
    if kind == "resolved":
        minutes, by = data.get("clean_windows"), data.get("by") or "logwarden"
        if by == "logwarden" and minutes:
            return f"resolved: {_count(minutes, 'clean minute', 'clean minutes')} in a row"
        return f"resolved by {by}"
    if kind == "reopened":
        return "reopened: the errors came back" + (f" (time {data['reopen_count']})" if data.get("reopen_count") else "")
    if kind == "ticket_commented":
        return f"ticket comment: {_COMMENT_WORDS.get(data.get('reason', ''), data.get('reason') or 'a comment')}"
    if kind == "registry_matched":
        how = "the model's match" if data.get("match") == "ai" else "same error"
        ticket = f", ticket {data['ticket']}" if data.get("ticket") else ""
        return f"known issue back: {named} ({how}{ticket})"
    if kind == "registry_expired":
        why = "not seen for its time to live" if data.get("reason") == "ttl" else "registry full"
        return f"known issue forgotten ({why})"
    if kind == "review_posted":
        if data.get("fix_needed"):
            return "review posted: a fix is needed" + (f" ({runbook})" if data.get("runbook") else "")
        return "review posted: no fix needed"
    if kind == "fix_approved":
        return f"fix approved{who}{via}" + (f", {data['approvals']} of {data['needed']}" if data.get("needed") else "")
    if kind == "fix_escalated":
        return f"escalated instead of fixed{who}" + (f": {data['reason']}" if data.get("reason") else "")
    return kind.replace("_", " ")


def _distinct(samples: list[str]) -> list[str]:
    """The samples that differ in more than their numbers (ids, ports, times), first of each."""
    seen: set[str] = set()
    out = []
    for sample in samples:
        shape = re.sub(r"\d+", "0", sample)
        if shape not in seen:
            seen.add(shape)
            out.append(sample)
    return out


def _sample(sample: str) -> list[str]:
    """A finding's sample as an item under it: one line as inline code, several (a
    traceback) as a fenced block, so a Markdown viewer shows it as the log had it."""
    lines = [line[:SAMPLE_WIDTH] for line in sample.rstrip("\n").splitlines()] or [""]
    if len(lines) == 1:
        # CommonMark: a code span's delimiter is a run of backticks the text does not hold.
        ticks = "`" * (max((len(run) for run in re.findall(r"`+", lines[0])), default=0) + 1)
        pad = " " if lines[0].startswith("`") or lines[0].endswith("`") else ""
        return [f"  - {ticks}{pad}{lines[0]}{pad}{ticks}"]
    shown = lines[:SAMPLE_LINES]
    more = len(lines) - len(shown)
    fence = "~" * max(3, max((len(run) + 1 for line in shown for run in re.findall(r"~{3,}", line)), default=3))
    head = f"  - sample, {len(lines)} lines" + (f", the first {len(shown)}:" if more else ":")
    return [head, "", f"    {fence}", *(f"    {line}" for line in shown), f"    {fence}", ""]


def per_service(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Counts a backtest compares, per service."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"incidents": 0, "pages": 0, "tickets": 0,
                                                          "first_alert_s": []})
    for inc in report["incidents"]:
        row = out[inc["service"]]
        row["incidents"] += 1
        row["pages"] += len(inc["pages"])
        row["tickets"] += len(inc["tickets"])
        alerts = [p["at"] for p in inc["pages"] if p["kind"] == "alert"]
        if alerts and inc.get("window_start") is not None:
            row["first_alert_s"].append(round(min(alerts) - inc["window_start"], 1))
    for msg in report["notifications"]:
        if msg["kind"] == "oneoff_ticket":
            out[msg["service"]]["tickets"] += 1
    return dict(out)
