"""Configuration of host checks and probes (section `[checks]`, `LOGWARDEN_CHECKS__*` variables).

Each check has its own section, `[checks.cpu]`, `[checks.memory]`, `[checks.disk]`,
`[checks.network]`, `[checks.process]`, with `warning_threshold` and
`critical_threshold` (what "above" means is said per check) and a timeout. Probes are
`[[checks.probes]]` entries: a command with its arguments (exec, never a shell), an HTTP
GET of a JSON value, or a Prometheus instant query. Validated at load; nothing here
runs anything.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ChecksConfig", "CpuCheck", "DiskCheck", "MemoryCheck", "NetworkCheck", "ProbeSpec", "ProcessCheck",
           "Thresholds"]

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="run this check")
    warning_threshold: float = Field(85.0, description="value at or above which the result is `warn`")
    critical_threshold: float = Field(95.0, description="value at or above which the result is `fail`")
    timeout_s: float = Field(10.0, gt=0, description="a check still running after this is reported `unknown`")

    @model_validator(mode="after")
    def _ordered(self) -> "Thresholds":
        if self.critical_threshold < self.warning_threshold:
            raise ValueError("critical_threshold must be at or above warning_threshold")
        return self


class CpuCheck(Thresholds):
    sample_s: float = Field(1.0, gt=0, le=60, description="CPU is sampled over this many seconds (percent busy)")


class MemoryCheck(Thresholds):
    swap: bool = Field(True, description="also grade swap use (percent) with the swap thresholds")
    swap_warning_threshold: float = Field(50.0, description="swap percent used at or above which the result is `warn`")
    swap_critical_threshold: float = Field(80.0, description="swap percent used at or above which it is `fail`")


class DiskCheck(Thresholds):
    mounts: list[str] = Field(default_factory=list, description="mount points to check; empty: every local disk")
    inodes: bool = Field(True, description="also grade inodes used (percent) with the inode thresholds")
    inode_warning_threshold: float = Field(85.0, description="inodes percent used for `warn`")
    inode_critical_threshold: float = Field(95.0, description="inodes percent used for `fail`")


class NetworkCheck(Thresholds):
    warning_threshold: float = Field(10.0, description="interface errors + drops per minute for `warn`")
    critical_threshold: float = Field(100.0, description="interface errors + drops per minute for `fail`")
    sample_s: float = Field(1.0, gt=0, le=60, description="counters are read twice, this far apart, for --once")
    interfaces: list[str] = Field(default_factory=list, description="interfaces to check; empty: every one but lo")
    targets: list[str] = Field(default_factory=list,
                               description="host:port that must accept a TCP connection (unreachable: `fail`)")
    connect_warning_ms: float = Field(500.0, description="TCP connect time (ms) to a target for `warn`")

    @model_validator(mode="after")
    def _targets(self) -> "NetworkCheck":
        for target in self.targets:
            host, _, port = target.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("targets must be host:port")
        return self


class ProcessCheck(Thresholds):
    enabled: bool = Field(True, description="run this check (only when names or pid_files are set)")
    warning_threshold: float = Field(1024.0, description="resident memory (MiB) of a process for `warn`")
    critical_threshold: float = Field(4096.0, description="resident memory (MiB) of a process for `fail`")
    names: list[str] = Field(default_factory=list, description="process names that must be running")
    pid_files: list[str] = Field(default_factory=list, description="pid files naming processes that must be running")


class ProbeSpec(BaseModel):
    """One curated probe. The AI may ask for a probe by name, never for a command."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(description="series name, e.g. `queue_depth`")
    kind: Literal["exec", "http", "prometheus"] = "exec"
    command: list[str] = Field(default_factory=list,
                               description="exec: program and arguments (never a shell string); prints numbers")
    url: str = Field("", description="http: URL of a JSON document; prometheus: the server's base URL")
    json_path: str = Field("", description="http: dotted path of the number in the JSON (`a.b.0.c`)")
    query: str = Field("", description="prometheus: an instant query; each series of the answer is a value")
    unit: str = Field("", description="unit of the value(s), shown in explanations")
    interval_s: float = Field(60.0, gt=0, description="how often the probe runs")
    timeout_s: float = Field(10.0, gt=0, description="a probe still running after this is killed, `unknown`")
    warning_threshold: float | None = Field(None, description="optional: value at or above which it is `warn`")
    critical_threshold: float | None = Field(None, description="optional: value at or above which it is `fail`")
    for_: list[str] = Field(default_factory=list, alias="for",
                            description="finding categories (database, dependency, resource, ...) on which the "
                                        "local AI asks for this probe during an incident")

    @model_validator(mode="after")
    def _complete(self) -> "ProbeSpec":
        if not _NAME.fullmatch(self.name):
            raise ValueError("probe name: letters, digits and _ . : - only, at most 64")
        if self.kind == "exec" and not self.command:
            raise ValueError("exec probe needs command (a list: program and arguments)")
        if self.kind in ("http", "prometheus") and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"{self.kind} probe needs an http(s) url")
        if self.kind == "prometheus" and not self.query:
            raise ValueError("prometheus probe needs query")
        return self


class ChecksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str = Field("", description="service this host serves: the key of its results (empty: the hostname)")
    host: str = Field("", description="host name in results (empty: this machine's)")
    interval_s: float = Field(60.0, gt=0, description="how often the host checks run")
    recover_after: int = Field(3, ge=1, le=100,
                               description="consecutive ok results before a failing check's finding resolves")
    cpu: CpuCheck = Field(default_factory=CpuCheck)
    memory: MemoryCheck = Field(default_factory=MemoryCheck)
    disk: DiskCheck = Field(default_factory=DiskCheck)
    network: NetworkCheck = Field(default_factory=NetworkCheck)
    process: ProcessCheck = Field(default_factory=ProcessCheck)
    probes: list[ProbeSpec] = Field(default_factory=list, description="curated probes ([[checks.probes]])")

    @model_validator(mode="after")
    def _unique_probes(self) -> "ChecksConfig":
        names = [p.name for p in self.probes]
        if len(names) != len(set(names)):
            raise ValueError("probe names must be unique")
        return self
