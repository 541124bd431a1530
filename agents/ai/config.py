"""Configuration of the ai stage (section `[ai]` of the TOML file, `LOGWARDEN_AI__*` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AIConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
