"""The README's run command: `logwarden up --demo` shows the whole product on the
embedded broker, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from streams.brokers import free_port

pytestmark = pytest.mark.broker


def _kinds(path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        out.append((rec.get("kind", ""), rec.get("service", "")))
    return out


def test_up_demo_opens_updates_resolves_and_reports(cli_env, tmp_path):
    port = free_port()
    env = dict(cli_env, LOGWARDEN_WEB_PORT=str(port), LOGWARDEN_LOG_LEVEL="warning")
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "up", "--demo"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    notifications = tmp_path / "lw" / "notifications.jsonl"  # under data_dir, not the working directory
    reports = tmp_path / "lw" / "reports"
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            kinds = _kinds(notifications)
            if ("resolved", "payments") in kinds and list(reports.glob("*payments*.md")):
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            time.sleep(1)
        kinds = _kinds(notifications)
        for expected in [("alert", "payments"), ("update", "payments"), ("resolved", "payments"),
                         ("ticket_create", "payments"), ("ticket_resolve", "payments"),
                         ("oneoff_ticket", "checkout"), ("alert", "search")]:
            assert expected in kinds, (expected, kinds)
        # The local provider answers every request: no message may say it did not.
        assert "no AI answer" not in notifications.read_text()
        report = next(reports.glob("*payments*.md")).read_text()
        assert "psycopg2.OperationalError" in report or "connection" in report
        bootstrap = json.loads((tmp_path / "lw" / "broker.json").read_text())["bootstrap"]
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"embedded broker stopped" in err
    assert not (tmp_path / "lw" / "broker.json").exists()
    host, bport = bootstrap.split(":")
    with socket.socket() as s:
        assert s.connect_ex((host, int(bport))) != 0, "the embedded broker is still listening"
    assert b"[P" in out  # the console channel printed notifications on the terminal
