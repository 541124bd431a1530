"""Configuration of the gateway stage (section `[gateway]` of the TOML file, `LOGWARDEN_GATEWAY__*` variables).

Must never print or log `token` or `secret`: they are `SecretStr` and are unwrapped
only inside `agents.gateway.auth`, at the moment a request is compared.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["DEFAULT_SERVICE_LABELS", "GatewayConfig", "SourceAuth"]

NormalSeverity = Literal["critical", "warning", "info"]

# Label/tag keys tried in order to find the service an alert belongs to. `job` is last:
# in Prometheus it usually names the scraped service, but it is a weaker hint.
DEFAULT_SERVICE_LABELS: tuple[str, ...] = (
    "service",
    "service_name",
    "app",
    "app_kubernetes_io_name",
    "application",
    "component",
    "job",
)


class SourceAuth(BaseModel):
    """How one source (a driver name, `logs`, or `default`) proves who it is."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["none", "bearer", "hmac"] = "none"
    # bearer: `Authorization: Bearer <token>`.
    token: SecretStr = SecretStr("")
    # hmac: HMAC-SHA256 key. Several keys may be listed during a rotation.
    secrets: list[SecretStr] = Field(default_factory=list)
    # Empty: the driver's default (Grafana `X-Grafana-Alerting-Signature`, PagerDuty
    # `X-PagerDuty-Signature`, everything else `X-Logwarden-Signature`).
    signature_header: str = ""
    # Empty: the driver's default; Grafana has none unless configured there too.
    # When a timestamp header is used, the signed text is "<timestamp>:<body>".
    timestamp_header: str = ""
    # Requests whose timestamp (header, or PagerDuty's signed `occurred_at`) is further
    # than this from now are refused as replays. 0 disables the check.
    replay_window_s: float = Field(300.0, ge=0)

    @model_validator(mode="after")
    def _credentials_present(self) -> "SourceAuth":
        if self.scheme == "bearer" and not self.token.get_secret_value():
            raise ValueError("scheme 'bearer' needs `token`")
        if self.scheme == "hmac" and not any(s.get_secret_value() for s in self.secrets):
            raise ValueError("scheme 'hmac' needs at least one entry in `secrets`")
        return self


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Size of the body as received (compressed or not).
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # Size after gzip decompression: a small gzip bomb must not become gigabytes.
    max_decompressed_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    max_alerts_per_request: int = Field(1000, ge=1)
    max_log_lines_per_request: int = Field(100_000, ge=1)
    # Each alert keeps its own part of the payload up to this size, then a marked head.
    raw_max_bytes: int = Field(16 * 1024, ge=256)
    max_line_bytes: int = Field(
        1024 * 1024, ge=256,
        description="a log line or JSON array item posted to /logs longer than this is refused (413)")

    # Slow or greedy clients (slowloris): every connection is bounded in time and number.
    header_timeout_s: float = Field(
        10.0, gt=0, description="a connection must send a whole request head this soon after it opens or"
                                " after its last answer, else it is closed; also the idle keep-alive time")
    body_timeout_s: float = Field(30.0, gt=0, description="the whole request body must arrive within this, else 408")
    max_connections_per_client: int = Field(
        64, ge=0, description="open connections one client address may hold; more are answered 429 and"
                              " closed; 0: no limit. Behind a proxy every client is the proxy's address")

    service_labels: list[str] = Field(default_factory=lambda: list(DEFAULT_SERVICE_LABELS))
    # Renames the value found in a service label: {"node": "infrastructure"}.
    service_aliases: dict[str, str] = Field(default_factory=dict)
    default_service: str = "unknown"
    # Source-native severity (lower case) -> ours, on top of the built-in table.
    severity_map: dict[str, NormalSeverity] = Field(default_factory=dict)
    default_severity: NormalSeverity = "warning"

    # Keyed by driver name (`alertmanager`, ..., `generic`), `logs`, or `default`
    # (used by any source without an entry of its own).
    auth: dict[str, SourceAuth] = Field(default_factory=dict)
    log_service_header: str = "X-Logwarden-Service"
