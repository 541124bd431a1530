"""Configuration of the executor stage (section `[executor]`, `LOGWARDEN_EXECUTOR__*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExecutorConfig"]


class ExecutorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_real: bool = Field(False,
        description=("The global switch: false (default) runs every runbook as a dry run, writing what "
                     "it would do, whatever the runbook says. A runbook runs for real only if its own "
                     "`real = true` AND this is true."))
    work_dir: Path = Field(Path("fixes"),
        description=("Where each run keeps its working directory, journal and output (under data_dir "
                     "if relative)."))
    max_output_bytes: int = Field(4096, ge=256, le=65536,
        description=("Captured output kept per run (redacted, then cut to this many bytes)."))
