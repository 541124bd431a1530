"""Configuration: TOML + environment, validated at load, errors name keys not values."""

from __future__ import annotations

import pytest

from streams.config import ConfigError, load_config


def test_defaults_run_the_embedded_broker():
    cfg = load_config(environ={})
    assert cfg.broker == ""  # empty means: `up` starts the embedded broker
    assert cfg.embedded_broker == "tansu"
    assert cfg.partitions == 4


def test_environment_wins_over_file(tmp_path):
    f = tmp_path / "lw.toml"
    f.write_text('partitions = 8\nbroker = "file:9092"\n[extract]\n')
    cfg = load_config(f, environ={"LOGWARDEN_BROKER": "env:9092"})
    assert cfg.broker == "env:9092"
    assert cfg.partitions == 8


def test_env_reaches_nested_sections_and_lists():
    cfg = load_config(environ={"LOGWARDEN_STAGES": '["extract", "web"]'})
    assert cfg.stages == ["extract", "web"]


@pytest.mark.parametrize("env,key", [
    ({"LOGWARDEN_PARTITIONS": "lots"}, "partitions (env LOGWARDEN_PARTITIONS)"),
    ({"LOGWARDEN_PARTITIONS": "0"}, "partitions (env LOGWARDEN_PARTITIONS)"),
    ({"LOGWARDEN_WEB_PORT": "70000"}, "web_port (env LOGWARDEN_WEB_PORT)"),
    ({"LOGWARDEN_EMBEDDED_BROKER": "zookeeper"}, "embedded_broker"),
    ({"LOGWARDEN_NO_SUCH_KEY": "1"}, "no_such_key"),
    ({"LOGWARDEN_STAGES": '["extract", "teleport"]'}, "stages.1"),
])
def test_invalid_values_name_the_key(env, key):
    with pytest.raises(ConfigError) as err:
        load_config(environ=env)
    assert key in str(err.value)


def test_error_never_prints_the_value():
    secret = "xoxb-1111-2222-super-secret-value"
    with pytest.raises(ConfigError) as err:
        load_config(environ={"LOGWARDEN_PARTITIONS": secret, "LOGWARDEN_WEB_PORT": secret})
    assert secret not in str(err.value)
    assert "partitions" in str(err.value) and "web_port" in str(err.value)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("partitions = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, environ={})


def test_config_doc_is_current():
    """ops/CONFIG.md is generated from the models; fails when a key changed without `python -m streams.configdoc`."""
    from streams.configdoc import OUT, render

    assert OUT.read_text() == render()


def test_events_doc_is_current():
    from streams.configdoc import EVENTS_OUT, render_events

    assert EVENTS_OUT.read_text() == render_events()


def test_the_pure_python_switch_is_not_taken_for_a_configuration_key():
    """README: LOGWARDEN_PURE_PYTHON=1 runs the extraction's Python code; the worker must
    still start (it once refused: "Extra inputs are not permitted")."""
    cfg = load_config(environ={"LOGWARDEN_PURE_PYTHON": "1", "LOGWARDEN_PARTITIONS": "3"})
    assert cfg.partitions == 3
