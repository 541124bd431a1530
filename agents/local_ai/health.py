"""The built-in words of the periodic health report, from its numbers-only input.

The baselines stage writes each service's line and each unusual series' sentence with
the numbers' units (`agents.baselines.report`); this puts them together into the
report's title and text, the same whether the local provider answers, a model's answer
is missing or invalid, or no model is configured. Pure.
"""

from __future__ import annotations

from schemas.ai_tasks import HealthInput, NarrativeOutput

__all__ = ["narrate_health"]

_TITLE_MAX = 200  # NarrativeOutput.title
_TEXT_MAX = 8000  # NarrativeOutput.text
_CUT = "\n… (cut here: the report file has every service)"


def _names(names: list[str], head: str) -> str:
    """"(checkout, search)", shortened to "(checkout, search and 12 more)" to fit the title."""
    for shown in range(len(names), 0, -1):
        more = len(names) - shown
        text = f"{head} ({', '.join(names[:shown])}{f' and {more} more' if more else ''})"
        if len(text) <= _TITLE_MAX:
            return text
    return head[:_TITLE_MAX]


def _services(n: int) -> str:
    return f"{n} service" if n == 1 else f"{n} services"


def narrate_health(inp: HealthInput) -> NarrativeOutput:
    unusual = [s for s in inp.services if s.status == "unusual"]
    normal = [s for s in inp.services if s.status != "unusual"]
    if unusual:
        head = f"Health report {inp.period}: {len(unusual)} of {_services(len(inp.services))} unusual"
        title = _names([s.service for s in unusual], head)
        lines = [s.line for s in unusual]
        if normal:
            lines.append(f"Normal: {', '.join(s.service for s in normal)}")
    else:
        every = "1 service" if len(inp.services) == 1 else f"all {len(inp.services)} services"
        title = f"Health report {inp.period}: {every} normal"[:_TITLE_MAX]
        lines = [s.line for s in normal]
    text = "\n".join(lines)
    if len(text) > _TEXT_MAX:
        text = text[:_TEXT_MAX - len(_CUT)].rsplit("\n", 1)[0] + _CUT
    return NarrativeOutput(title=title, text=text)
