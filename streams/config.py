"""Typed configuration: an optional TOML file plus `LOGWARDEN_*` variables (which win).

Keys are `section.key` in TOML and `LOGWARDEN_SECTION__KEY` in the environment
(top-level keys: `LOGWARDEN_KEY`). Values are validated once, at start. An error names
the key that is wrong and what was expected, and never prints the value, because the
value may be a secret.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents.ai.config import AIConfig
from agents.approvals.config import ApprovalsConfig
from agents.baselines.config import BaselinesConfig, HealthConfig
from agents.checks.config import ChecksConfig
from agents.executor.config import ExecutorConfig
from agents.extract.config import ExtractConfig
from agents.gateway.config import GatewayConfig
from agents.incidents.config import IncidentsConfig
from agents.notify.config import NotifyConfig
from agents.redact import RedactConfig
from agents.runbooks.catalog import load_catalog
from streams.presets import PRESETS, UnknownPreset, expand

__all__ = ["Config", "ConfigError", "load_config"]

ENV_PREFIX = "LOGWARDEN_"
# LOGWARDEN_ variables that are not configuration keys: the config file's path, and the
# switch to the pure-Python extraction code (read at import, `agents/extract/compiled.py`).
NOT_KEYS = frozenset({"LOGWARDEN_CONFIG", "LOGWARDEN_PURE_PYTHON"})


class ConfigError(Exception):
    """Configuration that cannot be used. The message names keys, never values."""


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preset: str = Field("", description="named pipeline preset whose stages and routes are the defaults "
                                        "(ops/PRESETS.md): " + ", ".join(PRESETS) + "; empty: none")
    # Broker: empty means "start an embedded one" (`logwarden up`).
    broker: str = Field("", description="host:port of Kafka/Redpanda; empty: `up` starts an embedded broker")
    embedded_broker: Literal["tansu", "kafka"] = Field("tansu", description="embedded broker for `up`: tansu (memory) or kafka (KRaft, durable)")
    app_id: str = Field("logwarden", description="consumer group id and changelog topic prefix")
    topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]*$",
                              description="prefix of every declared topic (a namespace: `replay` runs in its own)")
    partitions: int = Field(4, ge=1, le=1024, description="partitions of every keyed topic; fixed once topics exist")
    replication_factor: int = Field(1, ge=1, description="replication factor of created topics")
    data_dir: Path = Field(Path(".logwarden"), description="local state: embedded broker data, reports, notifications")
    web_host: str = Field("127.0.0.1", description="worker web server address")
    web_port: int = Field(6066, ge=0, le=65535, description="worker web server port")
    session_timeout_s: float = Field(10.0, gt=0, description="consumer group session timeout; short keeps Tansu rebalances fast")
    rebalance_timeout_s: float = Field(
        30.0, gt=0, description="how long a rebalance waits for members to rejoin; Tansu holds a JoinGroup "
                               "for part of it, so `up` on Tansu uses 10")
    batch_assign_all: bool = Field(
        False, description="the batch loops (extraction, window books) read every partition of their topic "
                           "without joining their consumer group, still committing to it: about 5 s less to "
                           "start on Tansu; only for a worker alone by construction (`replay` sets it)")
    batch_flush_when_caught_up: bool = Field(
        False, description="the batch loops publish what they hold as soon as they have read every partition "
                           "to its end (at most every 0.1 s), not once a second: for a replay, whose input is "
                           "all there (`replay` sets it); live, a flush a second keeps downstream records few")
    log_level: str = Field("info", description="debug, info, warning, error")
    broker_loss_give_up_s: float = Field(
        300.0, gt=0, description="how long a worker rides out an unreachable broker (reconnecting, resuming when "
                                 "it is back) before it exits non-zero for its supervisor to restart it")
    tick_interval_s: float = Field(2.0, gt=0, description="how often the clock is written to every logs.raw partition")
    # Which stages this worker runs; split them across workers to scale one alone.
    stages: list[Literal["ticks", "web", "extract", "incidents", "ai", "notify", "gateway", "checks",
                         "baselines", "executor"]] = Field(
        default_factory=lambda: ["ticks", "web", "extract", "incidents", "ai", "notify", "gateway"],
        description="stages this worker runs; give workers different stages to scale one alone; "
                    "`checks` (host checks and probes), `baselines` and `executor` (runs approved "
                    "runbooks; give it its own, more trusted workers) are opt-in; `logwarden up` "
                    "adds `executor` unless `stages` is set")

    extract: ExtractConfig = Field(default_factory=ExtractConfig)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    ai: AIConfig = Field(default_factory=AIConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    baselines: BaselinesConfig = Field(default_factory=BaselinesConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    redact: RedactConfig = Field(default_factory=RedactConfig)
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value and value not in PRESETS:
            raise ValueError(f"unknown preset; known presets: {', '.join(PRESETS)}")
        return value

    @model_validator(mode="after")
    def _one_runbook_allowlist(self) -> "Config":
        # Resolved once, here: the incidents stage proposes from cfg.incidents.runbooks
        # and never reads the ai stage's runbook index itself.
        self.incidents = self.incidents.with_runbook_index(self.ai.runbooks)
        # The pure reducer gets the allowed runbooks' specs and the approval policy as
        # values: it proposes and decides without reading the index or [approvals].
        self.incidents = self.incidents.with_fix_policy(
            load_catalog(self.ai.runbooks_index).runbooks, approvers=self.approvals.approvers,
            second_approver_for_p1=self.approvals.second_approver_for_p1,
            proposal_ttl_s=self.approvals.proposal_ttl_s)
        return self


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_KEYS:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if not parts:
            continue
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: conflicts with another LOGWARDEN_ variable")
        node[parts[-1]] = _env_value(value)
    return out


def _env_value(value: str) -> Any:
    # Lists and tables can be given as TOML/JSON-ish literals: LOGWARDEN_X='["a","b"]'.
    stripped = value.strip()
    if stripped[:1] in "[{":
        try:
            return tomllib.loads(f"v = {stripped}")["v"]
        except tomllib.TOMLDecodeError:
            return value
    return value


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration ({origin}):"]
    for err in exc.errors(include_input=False, include_url=False):
        key = ".".join(str(p) for p in err["loc"])
        env = ENV_PREFIX + "__".join(str(p).upper() for p in err["loc"])
        lines.append(f"  {key} (env {env}): {err['msg']}")
    return "\n".join(lines)


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """Load and validate. `path` (or $LOGWARDEN_CONFIG) may be absent; env wins over it."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("LOGWARDEN_CONFIG") or None
    data: dict[str, Any] = {}
    origin = "defaults"
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
        origin = str(p)
    env = _env_overrides(environ)
    if env:
        origin += " + LOGWARDEN_* environment"
    data = _merge(_merge(data, env), overrides)
    if data.get("preset"):
        # The preset's keys are defaults: the file, the environment and overrides win.
        try:
            data = _merge(expand(str(data["preset"])), data)
        except UnknownPreset as exc:
            raise ConfigError(f"invalid configuration ({origin}):\n  preset (env LOGWARDEN_PRESET): {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None
