"""Serves the console from the incidents stage's worker: `GET /console` and its board.

`GET /console` (with its script and style) is a static shell; `GET /console/board` is
the data, as JSON carrying the server-rendered board, and needs the bearer token when
`approvals.api_tokens` is set. Like `GET /incidents`, the board answers from this
worker's partitions of the "incident-states" table and says so when they are not all
here. Never writes the incident states; decisions go through the approvals HTTP API.

The charts: a consumer of `signals.windows` ("console-windows" agent) keeps each
service's last six hours of windows in the console's own table (`series.py` says why
and how it is bounded); the bands are read from the baselines stage's tables when this
worker runs that stage, else the page says there is no band.
"""

from __future__ import annotations

import hashlib
import logging
import time

import faust
import orjson

from agents.console.assets import CSS, JS, SECURITY_HEADERS, SHELL
from agents.console.auth import check_bearer
from agents.console.chart import charts_html
from agents.console.page import render_board
from agents.console.series import (BASELINE_BUCKETS, BASELINE_SERIES, RING_SPAN_S, WINDOWS_TABLE, band_of,
                                   remember)
from agents.console.view import console_view
from agents.runbooks.catalog import load_catalog, resolve_index
from schemas.effects import Store
from schemas.records import WindowSummary

__all__ = ["board_answer", "register_console"]

log = logging.getLogger(__name__)


def _catalog(index):  # noqa: ANN001, ANN202 - a Path; a Catalog or None
    try:
        return load_catalog(resolve_index(index))
    except (OSError, ValueError) as exc:  # the page still works, without the commands spelled out
        log.warning("console: runbook index not readable (%s): commands are not shown", type(exc).__name__)
        return None


def board_answer(raw_states, *, now: float, catalog=None, partitions=(),  # noqa: ANN001
                 total_partitions: int = 0, rings=None, baselines=None, baselines_cfg=None) -> dict:  # noqa: ANN001
    """The JSON the page polls: the view, its HTML, and a digest that changes only when the view does.

    `rings`: service -> recent windows (`series.remember`), None for no charts;
    `baselines`: the baselines stage's (series, buckets) tables when they are on this worker."""
    view = console_view(raw_states, now=now, catalog=catalog, partitions=partitions, total_partitions=total_partitions)
    if rings is not None:
        view["charts"] = _charts(rings, view, now, baselines, baselines_cfg)
    stable = {k: v for k, v in view.items() if k != "generated_at"}
    digest = hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    html = render_board(view, now)
    view.pop("charts", None)  # already in `html`
    return {"generated_at": now, "open": view["open"], "digest": digest, "html": html, "view": view}


def _charts(rings, view, now: float, baselines, cfg) -> str:  # noqa: ANN001
    t1 = (now // 60) * 60 + 60  # the minute in progress is on the axis, its window not yet
    t0 = t1 - RING_SPAN_S
    bands = None
    if baselines is not None and cfg is not None:
        series_table, buckets_table = baselines

        def bands(service: str, name: str) -> list:
            return band_of(service, name, t0, t1, series_table, buckets_table, cfg)
    return charts_html(rings, bands, [*view["active"], *view["recent"]], t0=t0, t1=t1)


def register_console(stage, states, cfg, read_states=None) -> None:  # noqa: ANN001 - StageRunner, faust Table, Config
    """`read_states()`: this worker's whole service states (raw dicts); default: the table's values
    (a table whose states are stored in parts passes the function that joins them)."""
    app = stage.app
    if read_states is None:
        def read_states() -> list:  # a key with a unit separator is a part of a state, not a state
            return [raw for key, raw in states.items() if raw and "\x1f" not in key]
    tokens = cfg.approvals.api_tokens
    catalog = _catalog(cfg.ai.runbooks_index)
    windows = stage.topology.physical("signals.windows")
    headers = dict(SECURITY_HEADERS)
    rings = stage.table(WINDOWS_TABLE)

    async def keep_window(record: WindowSummary, source) -> list:  # noqa: ANN001
        ring = remember(rings.get(record.service), record)
        return [] if ring is None else [Store(WINDOWS_TABLE, record.service, ring)]

    stage.consume({"signals.windows": WindowSummary}, keep_window, agent="console-windows")

    def baselines():  # noqa: ANN202 - the two tables, when the baselines stage runs here
        tables = app.tables
        if BASELINE_SERIES in tables and BASELINE_BUCKETS in tables:
            return tables[BASELINE_SERIES], tables[BASELINE_BUCKETS]
        return None

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
            answer = board_answer(read_states(), now=time.time(), catalog=catalog,
                                  partitions=local, total_partitions=stage.partitions,
                                  rings={k: v for k, v in rings.items() if v}, baselines=baselines(),
                                  baselines_cfg=cfg.baselines)
            return self.json(answer, headers=dict(headers))
