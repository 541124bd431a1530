"""Where the executor runs: opt-in for `worker`, on for `up`, registered as its own agent."""

from __future__ import annotations

from streams.config import load_config
from streams.worker import stages_of_up


def test_worker_leaves_the_executor_out_by_default_and_up_runs_it():
    cfg = load_config(environ={})
    assert "executor" not in cfg.stages
    assert stages_of_up(cfg).stages == [*cfg.stages, "executor"]
    assert stages_of_up(cfg).executor.allow_real is False  # `up` shows the path with dry runs


def test_configured_stages_are_kept_by_up():
    cfg = load_config(environ={"LOGWARDEN_STAGES": '["web", "incidents"]'})
    assert stages_of_up(cfg).stages == ["web", "incidents"]


def test_the_executor_is_an_agent_of_its_own_reading_fix_orders(tmp_path):
    from streams.app import create_app

    cfg = load_config(environ={"LOGWARDEN_BROKER": "127.0.0.1:9", "LOGWARDEN_DATA_DIR": str(tmp_path),
                               "LOGWARDEN_STAGES": '["executor"]'})
    app = create_app(cfg)
    agents = {name: agent for name, agent in app.agents.items() if "executor" in name}
    assert list(agents) == ["logwarden.executor"]
    assert set(agents["logwarden.executor"].channel.topics) == {"fixes.orders"}
