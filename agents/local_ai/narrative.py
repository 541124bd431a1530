"""The one narrative writer without a model: first-alert summary, 5-minute update, report.

Used by the local provider and by the incident reducer (AI timeouts, immediate
re-alerts), so an incident reads the same whichever of them wrote it. Written only from
the incident's own history (counts, first/last seen, endpoints, error types, samples,
tickets, timeline), so it is true even when no model is available; why it is this
severe (its impact) comes in the first lines, not only in the timeline at the bottom.
`utc` is the one format of an event time shown to people. Pure: timestamps are
formatted from the input, never read from a clock. Must never include text that was not
in the (already redacted) input.
"""

from __future__ import annotations

from datetime import datetime, timezone

from schemas.ai_tasks import NarrativeInput, NarrativeOutput
from schemas.records import Finding

__all__ = ["duration", "narrate_locally", "opening_finding", "utc"]

_MAX_FINDINGS_LISTED = 8
_MAX_TIMELINE = 10


def utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    """`10 min`, `2 h 5 min`: whole minutes, cut, not rounded (a report said 11 min above, 10 below)."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _label(f: Finding) -> str:
    return f.what[:100]


def _headline(inp: NarrativeInput) -> str:
    if not inp.findings:
        return "errors"
    top = max(inp.findings, key=lambda f: f.count)
    return _label(top)


def _sample(text: str, limit: int = 300) -> str:
    """The sample within `limit` characters; a long traceback keeps its head and its last
    line (the exception itself), never a word cut in half at the end."""
    if len(text) <= limit:
        return text
    last = text.rstrip().rsplit("\n", 1)[-1][:limit // 2]
    head = text[:limit - len(last) - 5].rsplit("\n", 1)[0]
    return f"{head}\n  ...\n{last}"


def _sample_lines(sample: str) -> list[str]:
    """One line beside "sample:"; a traceback under it, every line indented as one block (its
    first line sat beside "sample:" and the frames at the margin, like text of the alert)."""
    lines = sample.rstrip("\n").split("\n")
    if len(lines) == 1:
        return [f"  sample: {lines[0]}"]
    return ["  sample:", *(f"    {line}" for line in lines)]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _count_line(errors: int, signatures: int, windows: int) -> str:
    where = (f"over {_plural(windows, 'minute')} with errors" if windows
             else "so far, before its first minute closed (a fatal line pages at once)")
    return f"- {_plural(errors, 'error')} in {_plural(signatures, 'distinct signature')} {where}"


def _impact(inp: NarrativeInput) -> list[str]:
    """The line that says why it is this severe, right under the intro; none without one."""
    reason = " ".join(inp.impact.split()).rstrip(".")
    return [f"Impact: {reason}."] if reason else []


def _facts(inp: NarrativeInput) -> list[str]:
    total = sum(f.count for f in inp.findings)
    first = min((f.first_seen for f in inp.findings if f.first_seen), default=inp.opened_at)
    last = max((f.last_seen for f in inp.findings), default=inp.opened_at)
    endpoints = sorted({f.endpoint for f in inp.findings if f.endpoint})
    # Service, severity and incident id are the message's headline and facts, in every
    # channel: not said a third time here.
    lines = [
        _count_line(total, len(inp.findings), inp.windows_with_errors),
        f"- First seen {utc(first)}, last seen {utc(last)}",
    ]
    if endpoints:
        lines.append(f"- Endpoints affected: {', '.join(endpoints[:10])}")
    if inp.tickets:
        lines.append(f"- Tickets: {', '.join(inp.tickets)}")
    if inp.oneoffs_joined:
        lines.append(f"- One-off errors seen while this incident was open joined it instead of getting a "
                     f"ticket of their own: {'; '.join(inp.oneoffs_joined[:5])}")
    return lines


def _signatures(inp: NarrativeInput) -> list[str]:
    out = ["", "Signatures (most frequent first):"]
    ranked = sorted(inp.findings, key=lambda f: (-f.count, f.fingerprint))
    for f in ranked[:_MAX_FINDINGS_LISTED]:
        out.append(f"- {f.count}x {_label(f)} [{f.level}]")
        if f.samples:
            out.extend(_sample_lines(_sample(f.samples[0])))
    if len(ranked) > _MAX_FINDINGS_LISTED:
        out.append(f"- ... and {len(ranked) - _MAX_FINDINGS_LISTED} more")
    return out


def opening_finding(entry: dict, opened_at: float) -> bool:
    """A timeline entry "new finding: ..." of the minute the incident opened: the findings
    it opened with are its title and its signatures, said there (a third time here)."""
    at = entry.get("at")
    return (str(entry.get("text", "")).startswith("new finding: ") and isinstance(at, (int, float))
            and at <= opened_at)


def _timeline(inp: NarrativeInput) -> list[str]:
    if not inp.timeline:
        return []
    out = ["", "Timeline:"]
    # The impact stated at the top is not said again in the timeline below it.
    shown = " ".join(inp.impact.split()).rstrip(".")
    for item in inp.timeline[-_MAX_TIMELINE:]:
        text = str(item.get("text", ""))
        at = item.get("at")
        if shown and shown in text:
            continue
        if opening_finding(item, inp.opened_at):
            continue
        when = utc(float(at)) if isinstance(at, (int, float)) else "?"
        out.append(f"- {when}: {text[:200]}")
    return out


def narrate_locally(task: str, inp: NarrativeInput) -> NarrativeOutput:
    """`task` is "summary", "update" or "report"."""
    headline = _headline(inp)
    open_for = duration(inp.now - inp.opened_at)
    if task == "report":
        resolved = inp.resolved_at if inp.resolved_at is not None else inp.now
        title = f"Resolved [{inp.severity}] {inp.service}: {headline}"
        intro = (f"Incident on {inp.service} opened {utc(inp.opened_at)}, resolved {utc(resolved)} "
                 f"after {duration(resolved - inp.opened_at)} and {inp.clean_streak} clean windows in a row.")
    elif task == "update":
        title = f"Update [{inp.severity}] {inp.service}: {headline}"
        state = (f"{inp.clean_streak} clean windows in a row so far" if inp.clean_streak
                 else "errors are still arriving")
        intro = f"Incident on {inp.service} open for {open_for}; {state}."
    else:
        title = f"[{inp.severity}] {inp.service}: {headline}"
        # Since the first error, not since the window that opened it closed (a minute later).
        first = min((f.first_seen for f in inp.findings if f.first_seen), default=inp.opened_at)
        intro = f"New incident on {inp.service} since {utc(min(first, inp.opened_at))}."
    text = "\n".join([intro, *_impact(inp), "", *_facts(inp), *_signatures(inp), *_timeline(inp)])
    return NarrativeOutput(title=title[:200], text=text[:8000])
