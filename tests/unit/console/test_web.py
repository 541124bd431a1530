"""The console's HTTP answers: the shell, and the board behind the bearer token."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import faust
from faust.types import TP
import pytest
from pydantic import SecretStr

from agents.console.auth import check_bearer
from agents.console.web import register_console
from streams.config import Config
from tests.unit.console.states import service_state

TOKEN = "lw-console-test-token-9f8e7d6c5b4a"


class _Stage:
    """What `register_console` uses of a StageRunner, with the views it declares collected."""

    def __init__(self, app: faust.App):
        self.app, self.partitions, self.views = app, 4, {}
        self.topology = SimpleNamespace(physical=lambda name: name)
        self.tables: dict[str, dict] = {}
        self.consumers: dict[str, tuple] = {}

    def table(self, name: str) -> dict:
        return self.tables.setdefault(name, {})

    def consume(self, inputs, handle, *, agent: str) -> None:  # noqa: ANN001
        self.consumers[agent] = (inputs, handle)

    def page(self, path: str):
        def collect(cls):
            self.views[path] = cls(self.app, self.app.web)
            return cls
        return collect


@pytest.fixture
def console(monkeypatch):
    def make(tokens: dict[str, str]):
        app = faust.App("console-test", broker="memory://", web_enabled=False, autodiscover=False)
        tp = TP("signals.windows", 2)
        assignor = SimpleNamespace(assigned_actives=lambda: {tp})
        monkeypatch.setattr(type(app), "assignor", property(lambda self: assignor))
        stage = _Stage(app)
        cfg = Config(broker="localhost:9092", approvals={"api_tokens": tokens})
        states = {"checkout": service_state().model_dump(mode="json"), "idle": None}
        register_console(stage, states, cfg)
        stage.views["stage"] = stage
        return stage.views
    return make


def _request(authorization: str = "", remote: str = "10.1.2.3"):
    return SimpleNamespace(headers={"Authorization": authorization} if authorization else {}, query={}, remote=remote)


async def _get(views, path: str, authorization: str = "", remote: str = "10.1.2.3"):
    response = await views[path].get(_request(authorization, remote))
    return response.status, dict(response.headers), response.text


async def test_the_board_needs_the_token_and_never_echoes_it(console):
    views = console({"oncall": TOKEN})
    status, headers, body = await _get(views, "/console/board")
    assert status == 401 and "WWW-Authenticate" in headers
    status, _, body = await _get(views, "/console/board", "Bearer wrong-token")
    assert status == 403 and "wrong-token" not in body
    status, headers, body = await _get(views, "/console/board", f"Bearer {TOKEN}")
    assert status == 200
    answer = json.loads(body)
    assert answer["open"] == 1 and "checkout-20260921T1414Z-1" in answer["html"]
    # Only partition 2 of 4 is on this worker, and the page says so.
    assert "This worker holds partitions 2 of 4" in answer["html"]
    for path in ("/console", "/console/console.js", "/console/console.css"):
        status, headers, text = await _get(views, path, f"Bearer {TOKEN}")
        assert status == 200 and TOKEN not in text
        assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert TOKEN not in body


async def test_without_tokens_only_local_callers_read_the_board(console):
    views = console({})
    status, _, body = await _get(views, "/console/board", remote="127.0.0.1")
    assert status == 200 and json.loads(body)["open"] == 1
    status, _, body = await _get(views, "/console/board", remote="10.1.2.3")
    assert status == 403 and "only local callers" in json.loads(body)["message"]


async def test_windows_read_by_the_console_become_its_charts(console):
    from agents.console.series import WINDOWS_TABLE
    from schemas.effects import Store
    from schemas.records import WindowSummary
    from tests.unit.console.states import T0

    views = console({})
    stage = views["stage"]
    inputs, handle = stage.consumers["console-windows"]
    assert set(inputs) == {"signals.windows"}
    start = (time.time() // 60) * 60 - 600
    for m, (lines, errors) in enumerate([(120, 0), (130, 2), (125, 9)]):
        window = WindowSummary(id=f"checkout|{start + 60 * m}|1", service="checkout", window_start=start + 60 * m,
                               window_end=start + 60 * (m + 1), status="errors" if errors else "clean",
                               lines=lines, errors=errors)
        for effect in await handle(window, None):
            assert isinstance(effect, Store) and effect.table == WINDOWS_TABLE
            stage.tables[effect.table][effect.key] = effect.value
    assert stage.tables[WINDOWS_TABLE]["checkout"][-1] == [start + 180, 125.0, 9.0]
    status, _, body = await _get(views, "/console/board", remote="127.0.0.1")
    html = json.loads(body)["html"]
    assert status == 200 and html.count('data-points="3"') == 2
    assert "the baselines stage does not run on this worker" in html
    # The fixture's incident opened months before and is still open: it spans the whole axis.
    assert T0 < start - 6 * 3600
    assert 'data-incident="checkout-20260921T1414Z-1" x="0.0" y="0" width="720.0"' in html


def test_check_bearer():
    tokens = {"a": SecretStr("alpha"), "b": SecretStr("beta")}
    assert check_bearer("Bearer beta", tokens, "10.0.0.1").name == "b"
    assert check_bearer("bearer  alpha ", tokens, "10.0.0.1").ok
    assert check_bearer("", tokens, "127.0.0.1").status == 401
    assert check_bearer("Basic alpha", tokens, "10.0.0.1").status == 401
    assert check_bearer("Bearer gamma", tokens, "10.0.0.1").status == 403
    assert check_bearer("", {}, "127.0.0.1").ok
    assert check_bearer("Bearer alpha", {}, "10.0.0.1").status == 403
