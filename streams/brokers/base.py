"""Process handling shared by the embedded brokers: free ports, start, health, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["BrokerError", "EmbeddedBroker", "free_port", "wait_for_kafka_api"]


class BrokerError(RuntimeError):
    """An embedded broker could not be started or is not reachable."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api_versions_request() -> bytes:
    # ApiVersions v0: api_key=18, version=0, correlation_id=1, client_id="lw-health"
    client = b"lw-health"
    body = (18).to_bytes(2, "big") + (0).to_bytes(2, "big") + (1).to_bytes(4, "big")
    body += len(client).to_bytes(2, "big") + client
    return len(body).to_bytes(4, "big") + body


def wait_for_kafka_api(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Wait until the port answers a Kafka ApiVersions request (not just accepts TCP)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"broker process exited with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                sock.settimeout(2.0)
                sock.sendall(_api_versions_request())
                size = int.from_bytes(_recv_exact(sock, 4), "big")
                payload = _recv_exact(sock, size)
                if payload[:4] == (1).to_bytes(4, "big") and payload[4:6] == b"\x00\x00":
                    return
                last = f"ApiVersions error code {int.from_bytes(payload[4:6], 'big')}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise BrokerError(f"broker at {host}:{port} did not answer within {timeout:.0f}s ({last})")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


class EmbeddedBroker:
    """A broker child process on a loopback port."""

    kind = "?"

    def __init__(self, data_dir: str | os.PathLike[str]):
        self.data_dir = Path(data_dir) / self.kind
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / f"{self.kind}.log"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def command(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def prepare(self) -> None:
        """Per-kind preparation before the process starts (ports, storage)."""

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.prepare()
        log = open(self.log_path, "ab")
        # Own process group: Ctrl-C in the terminal goes to us, and we stop the broker
        # ourselves, in order, after the worker has left its consumer group.
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.data_dir, env=self.env(), start_new_session=True,
        )
        log.close()
        try:
            wait_for_kafka_api(self.host, self.port, timeout, self.proc)
        except BrokerError as exc:
            tail = self.log_tail()
            self.stop()
            raise BrokerError(f"{self.kind}: {exc}; last output:\n{tail}") from None

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def __enter__(self) -> "EmbeddedBroker":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
