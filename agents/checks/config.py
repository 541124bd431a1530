"""Configuration of the checks stage (section `[checks]` of the TOML file, `LOGWARDEN_CHECKS__*` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ChecksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
