"""The runbook catalog: `ops/runbooks/index.toml`, one `[runbooks.<name>]` table per runbook.

A runbook entry::

    [runbooks.restart-service]
    file = "restart-service.md"          # the human procedure, beside the index (must exist)
    summary = "Rolling restart ..."      # one line, shown in proposals
    command = ["systemctl", "restart", "{service}"]   # argv, never a shell string
    timeout_s = 120                      # the executor kills it after this long
    real = false                         # may it run for real (and executor.allow_real too)?
    verify_window_s = 300                # errors must stop within this long after it ran
    propose_for = ["oom", "crash_loop"]  # incident kinds the built-in rules propose it for
    [runbooks.restart-service.params.service]
    from = "incident.service"            # or "incident.host", or choices = [...] with default

Reading is the only I/O and happens once, at configuration time. An entry that is not
valid is left out of the catalog with the reason (`Catalog.rejected`), never half-used:
a runbook whose command could take text from outside its declared parameters cannot be
proposed at all.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = ["Catalog", "ParamSpec", "RunbookSpec", "load_catalog", "resolve_index"]

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
# A parameter value is one plain token: no shell meaning, no option injection, no paths up.
SAFE_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


class ParamSpec(BaseModel):
    """Where one parameter's value may come from: the incident, or a fixed list."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: Literal["incident.service", "incident.host", "choices"] = Field("choices", alias="from")
    choices: list[str] = Field(default_factory=list)
    default: str = ""
    description: str = ""

    @model_validator(mode="after")
    def _choices_are_safe(self) -> "ParamSpec":
        if self.source == "choices":
            if not self.choices:
                raise ValueError("a parameter without `from` needs `choices`")
            if self.default and self.default not in self.choices:
                raise ValueError("`default` must be one of `choices`")
        bad = [c for c in self.choices if not SAFE_VALUE.match(c)]
        if bad:
            raise ValueError("a choice is not a plain token")
        return self


class RunbookSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    file: str
    summary: str = ""
    command: list[str] = Field(min_length=1)
    timeout_s: float = Field(120.0, gt=0, le=3600)
    real: bool = False
    verify_window_s: float = Field(300.0, ge=60, le=24 * 3600)
    propose_for: list[str] = Field(default_factory=list)
    params: dict[str, ParamSpec] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("runbook names are lowercase letters, digits and dashes")
        return value

    @model_validator(mode="after")
    def _command_uses_only_declared_params(self) -> "RunbookSpec":
        if _PLACEHOLDER.search(self.command[0]):
            raise ValueError("the executable itself cannot be a parameter")
        used = {m for arg in self.command for m in _PLACEHOLDER.findall(arg)}
        undeclared = used - set(self.params)
        if undeclared:
            raise ValueError(f"command uses undeclared parameters {sorted(undeclared)}")
        return self

    def argv(self, params: dict[str, str]) -> list[str]:
        """The command with validated parameters put in (each `{name}` inside an argument)."""
        return [_PLACEHOLDER.sub(lambda m: params[m.group(1)], arg) for arg in self.command]


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runbooks: dict[str, RunbookSpec] = Field(default_factory=dict)
    rejected: dict[str, str] = Field(default_factory=dict)  # name -> why it was left out

    def get(self, name: str) -> RunbookSpec | None:
        return self.runbooks.get(name)

    def names(self) -> frozenset[str]:
        return frozenset(self.runbooks)


def resolve_index(index: Path) -> Path:
    """A relative index path is looked up in the working directory, then in the project."""
    index = Path(index)
    if index.is_absolute() or index.exists():
        return index
    candidate = _PROJECT_ROOT / index
    return candidate if candidate.exists() else index


def load_catalog(index: Path) -> Catalog:
    """Every valid runbook of the index; an unreadable index is an empty catalog."""
    index = resolve_index(index)
    try:
        data = tomllib.loads(index.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return Catalog(rejected={"*": f"index unreadable: {type(exc).__name__}"})
    entries = data.get("runbooks", {})
    catalog = Catalog()
    if not isinstance(entries, dict):
        catalog.rejected["*"] = "[runbooks] is not a table"
        return catalog
    for name, raw in entries.items():
        if not isinstance(raw, dict):
            catalog.rejected[str(name)] = "not a table"
            continue
        try:
            spec = RunbookSpec.model_validate({"name": name, **raw, "file": raw.get("file", f"{name}.md")})
        except ValidationError as exc:
            catalog.rejected[str(name)] = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in exc.errors())[:300]
            continue
        if not (index.parent / spec.file).is_file():
            catalog.rejected[name] = f"its file {spec.file} is missing beside the index"
            continue
        catalog.runbooks[name] = spec
    return catalog
