"""Shared fixtures: real brokers (session-scoped), free ports, CLI runner.

The broker tier is marked `broker`; `pytest -m "not broker"` runs the fast tier alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BROKER_KINDS = ("tansu", "kafka")


@pytest.fixture(scope="session")
def brokers(tmp_path_factory):
    """Lazily started embedded brokers, one per kind, for the whole session."""
    from streams.brokers import start_broker

    running: dict[str, object] = {}

    def get(kind: str):
        if kind not in running:
            running[kind] = start_broker(kind, tmp_path_factory.mktemp(f"broker-{kind}"), timeout=90)
        return running[kind]

    yield get
    for b in running.values():
        b.stop()


@pytest.fixture(params=BROKER_KINDS)
def broker(request, brokers):
    """Each test using this runs on Tansu and on Apache Kafka."""
    return brokers(request.param)


@pytest.fixture
def cli_env(tmp_path):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("LOGWARDEN_"):
            del env[k]
    env["LOGWARDEN_DATA_DIR"] = str(tmp_path / "lw")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(args: list[str], env: dict, timeout: float = 120, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, timeout=timeout, input=input)


@pytest.fixture(params=BROKER_KINDS)
def fresh_broker(request, tmp_path_factory):
    """A broker of its own for one test (Tansu, then Apache Kafka): no shared topics."""
    from streams.brokers import start_broker

    b = start_broker(request.param, tmp_path_factory.mktemp(f"fresh-{request.param}"), timeout=90)
    yield b
    b.stop()


def _own_broker(kind: str, tmp_path_factory):
    from streams.brokers import start_broker

    b = start_broker(kind, tmp_path_factory.mktemp(f"own-{kind}"), timeout=90)
    yield b
    b.stop()


@pytest.fixture
def tansu(tmp_path_factory):
    """An embedded Tansu broker of this test's own, for tests where one kind is enough."""
    yield from _own_broker("tansu", tmp_path_factory)


@pytest.fixture
def kafka(tmp_path_factory):
    """An Apache Kafka broker of this test's own (clients that cannot talk to Tansu)."""
    yield from _own_broker("kafka", tmp_path_factory)
