"""Configuration of the incidents stage (section `[incidents]` of the TOML file, `LOGWARDEN_INCIDENTS__*` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class IncidentsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
