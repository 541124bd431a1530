"""Configuration of the gateway stage (section `[gateway]` of the TOML file, `LOGWARDEN_GATEWAY__*` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
