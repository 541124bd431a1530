"""Serves the console from the incidents stage's worker: `GET /console` and its board.

`GET /console` (with its script and style) is a static shell; `GET /console/board` is
the data, as JSON carrying the server-rendered board, and needs the bearer token when
`approvals.api_tokens` is set. Like `GET /incidents`, the board answers from this
worker's partitions of the "incident-states" table and says so when they are not all
here. Read-only: never writes a table; decisions go through the approvals HTTP API.
"""

from __future__ import annotations

import hashlib
import logging
import time

import faust
import orjson

from agents.console.assets import CSS, JS, SECURITY_HEADERS, SHELL
from agents.console.auth import check_bearer
from agents.console.page import render_board
from agents.console.view import console_view
from agents.runbooks.catalog import load_catalog, resolve_index

__all__ = ["board_answer", "register_console"]

log = logging.getLogger(__name__)


def _catalog(index):  # noqa: ANN001, ANN202 - a Path; a Catalog or None
    try:
        return load_catalog(resolve_index(index))
    except (OSError, ValueError) as exc:  # the page still works, without the commands spelled out
        log.warning("console: runbook index not readable (%s): commands are not shown", type(exc).__name__)
        return None


def board_answer(raw_states, *, now: float, catalog=None, partitions=(),  # noqa: ANN001
                 total_partitions: int = 0) -> dict:
    """The JSON the page polls: the view, its HTML, and a digest that changes only when the view does."""
    view = console_view(raw_states, now=now, catalog=catalog, partitions=partitions, total_partitions=total_partitions)
    stable = {k: v for k, v in view.items() if k != "generated_at"}
    digest = hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return {"generated_at": now, "open": view["open"], "digest": digest, "html": render_board(view, now), "view": view}


def register_console(stage, states, cfg) -> None:  # noqa: ANN001 - StageRunner, faust Table, Config
    app = stage.app
    tokens = cfg.approvals.api_tokens
    catalog = _catalog(cfg.ai.runbooks_index)
    windows = stage.topology.physical("signals.windows")
    headers = dict(SECURITY_HEADERS)

    @stage.page("/console")
    class Console(faust.web.View):
        async def get(self, request):  # noqa: ANN001
            return self.html(SHELL, headers=dict(headers))

    @stage.page("/console/console.js")
    class ConsoleScript(faust.web.View):
        async def get(self, request):  # noqa: ANN001
            return self.text(JS, content_type="application/javascript", headers=dict(headers))

    @stage.page("/console/console.css")
    class ConsoleStyle(faust.web.View):
        async def get(self, request):  # noqa: ANN001
            return self.text(CSS, content_type="text/css", headers=dict(headers))

    @stage.page("/console/board")
    class ConsoleBoard(faust.web.View):
        async def get(self, request):  # noqa: ANN001
            verdict = check_bearer(request.headers.get("Authorization", ""), tokens, request.remote)
            if not verdict.ok:
                message = ("the console needs `Authorization: Bearer <token>` (approvals.api_tokens)"
                           if verdict.status == 401 else "the bearer token is not valid" if tokens else
                           "no approvals.api_tokens are configured: only local callers may read the console")
                return self.json({"error": "auth_missing" if verdict.status == 401 else "auth_invalid",
                                  "message": message}, status=verdict.status,
                                 headers={**headers, "WWW-Authenticate": 'Bearer realm="logwarden"'})
            local = sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == windows)
            answer = board_answer([raw for _key, raw in states.items() if raw], now=time.time(), catalog=catalog,
                                  partitions=local, total_partitions=stage.partitions)
            return self.json(answer, headers=dict(headers))
