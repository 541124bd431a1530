"""Configuration of the extract stage (section `[extract]` of the TOML file, `LOGWARDEN_EXTRACT__*` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ExtractConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
