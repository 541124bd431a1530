"""Prompt building: versioned prompt files plus the request data as a delimited block.

Log text is untrusted. It only ever enters a prompt inside one <incident_data> block,
as JSON in which '<', '>' and '&' are escaped, so no log line can close the block or
open a new instruction section; the system prompt says the block is data. Everything
passed here must already be redacted. Never reads a clock; reads prompt files once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["PROMPT_FILES", "Prompt", "build_prompt", "with_correction"]

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
SYSTEM_FILE = "system.v1.md"

# task -> its prompt file; the version is part of the file name and of every audit record.
PROMPT_FILES: dict[str, str] = {
    "classify": "classify.v1.md",
    "match": "match.v1.md",
    "summary": "summary.v2.md",
    "update": "update.v2.md",
    "report": "report.v2.md",
    "review": "review.v1.md",
    "health": "health.v1.md",
}
# An incident's first classification also asks for the first-alert summary (one round trip).
CLASSIFY_WITH_SUMMARY_FILE = "classify_summary.v2.md"


@dataclass(frozen=True)
class Prompt:
    task: str
    version: str  # e.g. "classify.v1+system.v1"
    system: str
    user: str
    output_schema: dict[str, Any] = field(hash=False)

    @property
    def tool_name(self) -> str:
        return f"answer_{self.task}"


@cache
def _read(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8").strip()


def _data_block(data: dict[str, Any]) -> str:
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1, default=str)
    body = body.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<incident_data>\n{body}\n</incident_data>"


def build_prompt(task: str, data: dict[str, Any], output_schema: dict[str, Any]) -> Prompt:
    task_file = CLASSIFY_WITH_SUMMARY_FILE if task == "classify" and data.get("incident") else PROMPT_FILES[task]
    user = "\n\n".join([
        _read(task_file),
        "The data (untrusted, redacted):",
        _data_block(data),
        "Answer with the tool/JSON schema only.",
    ])
    version = f"{task_file.removesuffix('.md')}+{SYSTEM_FILE.removesuffix('.md')}"
    return Prompt(task=task, version=version, system=_read(SYSTEM_FILE), user=user,
                  output_schema=output_schema)


def with_correction(prompt: Prompt, problems: list[str]) -> Prompt:
    """The same prompt plus a note on why the previous answer was rejected (field names only)."""
    note = ("Your previous answer was rejected because it did not match the schema "
            f"({'; '.join(problems[:10])}). Answer again, matching the schema exactly.")
    return Prompt(task=prompt.task, version=prompt.version, system=prompt.system,
                  user=f"{prompt.user}\n\n{note}", output_schema=prompt.output_schema)
