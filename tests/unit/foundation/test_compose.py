"""docker-compose.redpanda.yml, checked without a Docker engine: it parses, every
Logwarden command is a real CLI command, and every LOGWARDEN_ variable is a real key."""

from __future__ import annotations

import yaml

from streams.cli import _parser
from streams.config import load_config
from tests.conftest import ROOT


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.redpanda.yml").read_text())


def test_compose_has_the_promised_services():
    services = _compose()["services"]
    assert {"redpanda", "console", "topics", "worker-1", "worker-2"} <= set(services)


def test_every_logwarden_command_parses_and_env_is_valid_config():
    services = _compose()["services"]
    checked = 0
    for name, svc in services.items():
        cmd = svc.get("command")
        if not cmd or cmd[0] != "logwarden":
            continue
        _parser().parse_args(cmd[1:])  # exits on an unknown command
        env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
        cfg = load_config(environ=env)  # raises on an unknown or invalid key
        assert cfg.broker == "redpanda:9092"
        assert cfg.web_port == 6066
        checked += 1
    assert checked == 3


def test_worker_ports_map_to_the_configured_web_port():
    services = _compose()["services"]
    for name in ("worker-1", "worker-2"):
        assert any(p.endswith(":6066") for p in services[name]["ports"])
