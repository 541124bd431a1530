"""Generate the JSON Schema files of the public topics (`python -m schemas.jsonschema`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.topics import TOPICS

OUT = Path(__file__).parent / "json"


def render() -> dict[str, str]:
    """File name -> JSON text, for every public topic."""
    files = {}
    for spec in TOPICS:
        if spec.public and spec.record is not None:
            schema = spec.record.model_json_schema()
            schema["$id"] = f"logwarden:{spec.name}"
            schema["description"] = spec.doc
            files[f"{spec.name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
    print(f"wrote {len(render())} schemas to {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
