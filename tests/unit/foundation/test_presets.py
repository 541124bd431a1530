"""Pipeline presets: each one is the pipeline issue #16 names, explicit keys win, docs examples load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.cli import main
from streams.config import ConfigError, load_config
from streams.presets import PRESETS

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "ops" / "PRESETS.md"

# The six pipelines of the issue, as the stages that must (and must not) run for each.
INPUTS = {"extract": "logs", "gateway": "alerts", "checks": "checks", "baselines": "baselines"}
PIPELINES = {
    "logs": ({"extract", "incidents", "ai", "notify"}, {"checks", "baselines"}),
    "host-checks": ({"checks", "incidents", "ai", "notify"}, {"extract", "gateway", "baselines"}),
    "host-checks-ai": ({"checks", "incidents", "ai", "notify"}, {"extract", "gateway", "baselines"}),
    "alerts-triage": ({"gateway", "checks", "incidents", "ai", "notify"}, {"extract", "baselines"}),
    "health-analysis": ({"extract", "checks", "baselines", "notify"}, {"gateway", "executor"}),
    "full": ({"extract", "gateway", "checks", "baselines", "incidents", "ai", "notify"}, set()),
}


def test_the_six_pipelines_of_the_issue_are_the_presets():
    assert list(PRESETS) == list(PIPELINES)


@pytest.mark.parametrize("name", list(PIPELINES))
def test_each_preset_loads_into_a_valid_config_running_its_pipeline(name):
    cfg = load_config(environ={"LOGWARDEN_PRESET": name})
    must, must_not = PIPELINES[name]
    assert cfg.preset == name
    assert must <= set(cfg.stages), f"{name} lacks {must - set(cfg.stages)}"
    assert not must_not & set(cfg.stages), f"{name} runs {must_not & set(cfg.stages)}"
    assert {"ticks", "web"} <= set(cfg.stages)  # the clock and /healthz, /metrics in every pipeline


def test_the_logs_preset_is_the_default():
    assert load_config(environ={"LOGWARDEN_PRESET": "logs"}).stages == load_config(environ={}).stages


def test_the_no_ai_preset_uses_the_local_narrator_and_the_ai_one_does_not_force_it():
    assert load_config(environ={"LOGWARDEN_PRESET": "host-checks"}).ai.provider == "local"
    with_model = load_config(environ={"LOGWARDEN_PRESET": "host-checks-ai", "LOGWARDEN_AI__PROVIDER": "anthropic"})
    assert with_model.ai.provider == "anthropic"


def test_health_analysis_posts_the_report_even_when_all_is_normal_and_routes_it_to_chat():
    cfg = load_config(environ={"LOGWARDEN_PRESET": "health-analysis"})
    assert cfg.health.enabled and cfg.health.digest
    (digest_rule,) = [r for r in cfg.notify.routes if r.kinds == ["digest"]]
    assert {"slack", "discord", "telegram", "email", "ntfy"} <= set(digest_rule.channels)


def test_explicit_keys_in_the_file_win_over_the_preset(tmp_path):
    f = tmp_path / "lw.toml"
    f.write_text('preset = "host-checks"\nstages = ["web", "checks"]\n[ai]\nprovider = "openai"\n'
                 '[[notify.routes]]\nchannels = ["console"]\n')
    cfg = load_config(f, environ={})
    assert cfg.stages == ["web", "checks"]
    assert cfg.ai.provider == "openai"
    assert [r.channels for r in cfg.notify.routes] == [["console"]]  # an explicit list replaces the preset's


def test_the_environment_wins_over_the_files_preset_and_over_its_keys(tmp_path):
    f = tmp_path / "lw.toml"
    f.write_text('preset = "host-checks"\n')
    cfg = load_config(f, environ={"LOGWARDEN_PRESET": "alerts-triage", "LOGWARDEN_AI__PROVIDER": "anthropic"})
    assert cfg.preset == "alerts-triage" and "gateway" in cfg.stages and cfg.ai.provider == "anthropic"


def test_an_unknown_preset_is_a_clear_error_listing_the_names(tmp_path):
    f = tmp_path / "lw.toml"
    f.write_text('preset = "host-check"\n')
    with pytest.raises(ConfigError) as err:
        load_config(f, environ={})
    text = str(err.value)
    assert "preset (env LOGWARDEN_PRESET): unknown preset" in text
    for name in PIPELINES:
        assert name in text


def test_config_show_prints_what_a_preset_expands_to(capsys, monkeypatch):
    monkeypatch.delenv("LOGWARDEN_CONFIG", raising=False)
    for name in [k for k in __import__("os").environ if k.startswith("LOGWARDEN_")]:
        monkeypatch.delenv(name)
    assert main(["config", "show", "--preset", "host-checks"]) == 0
    out = capsys.readouterr().out
    assert 'preset = "host-checks"  # checks → notify' in out
    assert 'stages = ["ticks", "web", "checks", "incidents", "ai", "notify"]' in out
    assert 'provider = "local"' in out
    assert main(["config", "show", "--preset", "nope"]) == 2
    assert "known presets: logs, host-checks" in capsys.readouterr().err


def test_config_show_never_prints_a_secret(capsys, monkeypatch):
    secret = "https://hooks.slack.example/T000/B000/very-secret-path"
    monkeypatch.setenv("LOGWARDEN_NOTIFY__SLACK__WEBHOOK_URL", secret)
    monkeypatch.setenv("LOGWARDEN_PRESET", "full")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert secret not in out and "configured channels: console, slack" in out


def _examples() -> list[tuple[str, str]]:
    text = DOC.read_text()
    out = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title = section.splitlines()[0]
        out += [(title, block) for block in re.findall(r"```toml\n(.*?)```", section, flags=re.S)]
    return out


def test_every_preset_is_documented_with_an_example():
    documented = {re.search(r'preset = "([^"]+)"', block).group(1) for _, block in _examples()}
    assert documented == set(PRESETS)


@pytest.mark.parametrize("title,block", _examples(), ids=[t.split(":")[0].strip("`") for t, _ in _examples()])
def test_each_documented_example_loads(tmp_path, monkeypatch, title, block):
    monkeypatch.chdir(ROOT)  # the examples name ops/probes/ scripts relative to the repository
    f = tmp_path / "example.toml"
    f.write_text(block)
    # Secrets come from the environment, as the examples say.
    cfg = load_config(f, environ={"LOGWARDEN_GATEWAY__AUTH__DEFAULT__TOKEN": "example-token"})
    preset = re.search(r'preset = "([^"]+)"', block).group(1)
    assert cfg.preset == preset
