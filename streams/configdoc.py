"""Write ops/CONFIG.md (configuration keys) and ops/EVENTS.md (the public
`incidents.events` contract) from the code (`python -m streams.configdoc`).

The docs are generated so they cannot drift from the code; a test fails when stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, SecretStr

from schemas import contract
from streams.config import Config

OUT = Path(__file__).resolve().parent.parent / "ops" / "CONFIG.md"
EVENTS_OUT = OUT.parent / "EVENTS.md"


def _default(field) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(computed)"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, SecretStr):
        return "(secret, unset)" if not value.get_secret_value() else "(secret)"
    if value is None:
        return "unset"
    try:
        return "`" + json.dumps(value, default=str) + "`"
    except TypeError:
        return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.extend(_rows(ann, key + "."))
            continue
        env = "LOGWARDEN_" + key.upper().replace(".", "__")
        desc = (field.description or "").replace("|", "\\|")
        type_name = getattr(ann, "__name__", str(ann)).replace("typing.", "").replace("|", "\\|")
        rows.append(f"| `{key}` | `{env}` | {type_name} | {_default(field)} | {desc} |")
    return rows


def render() -> str:
    lines = [
        "# Configuration keys",
        "",
        "Generated from the configuration models by `python -m streams.configdoc`; do not edit by hand.",
        "TOML keys are `section.key`; environment variables win over the file. Secrets are",
        "never printed, logged or sent anywhere but to the service they belong to.",
        "",
        "| key | environment | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    lines.extend(_rows(Config, ""))
    return "\n".join(lines) + "\n"


def render_events() -> str:
    lines = [
        "# `incidents.events`: the public contract",
        "",
        "Generated from `schemas/contract.py` by `python -m streams.configdoc`; do not edit by hand.",
        "The record shape is `schemas/json/incidents.events.json`.",
        "",
        *[line.strip() for line in (contract.__doc__ or "").strip().splitlines()],
        "",
        "| type | meaning | `data` keys always present |",
        "|---|---|---|",
    ]
    for type_, (meaning, keys) in sorted(contract.EVENT_TYPES.items()):
        lines.append(f"| `{type_}` | {meaning} | {', '.join(f'`{k}`' for k in keys)} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    OUT.write_text(render())
    EVENTS_OUT.write_text(render_events())
    print(f"wrote {OUT} and {EVENTS_OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
