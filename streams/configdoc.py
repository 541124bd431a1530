"""Write ops/CONFIG.md from the configuration models (`python -m streams.configdoc`).

The doc is generated so it cannot drift from the code; a test fails when it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, SecretStr

from streams.config import Config

OUT = Path(__file__).resolve().parent.parent / "ops" / "CONFIG.md"


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


def main() -> int:
    OUT.write_text(render())
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
