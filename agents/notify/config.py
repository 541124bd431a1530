"""Configuration of the notify stage (section `[notify]` of the TOML file, `LOGWARDEN_NOTIFY__*` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
