"""A worker of the real app plus one counting agent on logs.raw (integration harness).

Run as `python -m tests.integration.count_app`; config from LOGWARDEN_* variables.
GET /count answers {"lines": n, "checksum": hex} over what the agent consumed.
"""

from __future__ import annotations

import hashlib
import os

from faust.worker import Worker

from streams.app import create_app
from streams.config import load_config
from streams.logs import logging_config


def main() -> None:
    cfg = load_config()
    app = create_app(cfg, stages=("ticks", "web"))
    topology = app.logwarden_topology
    state = {"lines": 0, "checksum": 0}
    # The shared broker's logs.raw also holds other tests' lines: count this run's only.
    marker = os.environ.get("COUNT_MARKER", "").encode()

    @app.agent(topology["logs.raw"])
    async def count(stream):
        async for event in stream.events():
            if event.key == b"__tick__" or marker not in event.value:
                continue
            state["lines"] += 1
            digest = int.from_bytes(hashlib.sha256(event.value).digest(), "big")
            state["checksum"] = (state["checksum"] + digest) % (1 << 256)

    @app.page("/count")
    async def counted(self, request):
        return self.json({"lines": state["lines"], "checksum": f"{state['checksum']:064x}"})

    Worker(app, loglevel="warning", logging_config=logging_config("warning"), quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
