"""Configuration of the extract stage (section `[extract]` of the TOML file, `LOGWARDEN_EXTRACT__*` variables).

Holds no secrets. Regexes are validated at load, so a bad ignore rule fails at start
with the key named, not on the first matching line.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agents.service_name import DEFAULT_SERVICE_FIELDS

__all__ = ["DEFAULT_FATAL_PATTERNS", "DEFAULT_SERVICE_FIELDS", "ExtractConfig"]

# A process died, or is about to: the crashes the incident stage's impact rules make P1.
DEFAULT_FATAL_PATTERNS = (
    r"^panic: ",  # Go: an unrecovered panic (net/http's recovered "http: panic serving" is not one)
    r"^fatal error: ",  # Go runtime: concurrent map writes, out of memory
    r"out of memory: kill(?:ed)? process",  # the kernel's OOM killer
    r"outofmemoryerror",  # Java
    r"segmentation fault",  # C, C++, Rust; a shell reporting a child's death
    r"segmentation violation",  # Go's "signal SIGSEGV: segmentation violation"
    r"\bsigsegv\b",
)


class ExtractConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_s: int = Field(60, ge=1, description="tumbling window length, event time")
    allowed_lateness_s: float = Field(5.0, ge=0)
    forget_service_after_s: float = Field(3600.0, gt=0, description="no line for this long: no more silent windows")
    max_line_bytes: int = Field(1024 * 1024, ge=256, description="longer records go to the dead-letter topic")
    max_future_skew_s: float = Field(300.0, ge=0, description="line timestamps further ahead of the broker time are not trusted")
    service_fields: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SERVICE_FIELDS),
        description="JSON fields naming a line's service, first found wins (dotted: nested); the same rule "
                    "serves send-logs, POST /logs and extraction")
    service_map: dict[str, str] = Field(default_factory=dict, description="raw service name -> canonical name")
    use_record_key: bool = Field(True, description="a line that names no service counts under its record key")
    ignore_patterns: list[str] = Field(default_factory=list, description="regexes on the message")
    ignore_loggers: list[str] = Field(default_factory=list, description="logger names (prefix match on dotted names)")
    ignore_fingerprints: list[str] = Field(default_factory=list)
    samples_per_fingerprint: int = Field(3, ge=0, le=3)
    sample_chars: int = Field(2000, ge=80)
    trace_max_lines: int = Field(200, ge=2, description="a multi-line exception longer than this is cut")
    trace_idle_s: float = Field(1.0, ge=0, description="an open exception this far behind the watermark is complete")
    max_open_traces: int = Field(10000, ge=1)
    max_findings_per_window: int = Field(200, ge=1, description="per service and window; more are counted, not kept")
    max_routes_per_window: int = Field(
        50, ge=1, description="access-log routes kept per service and window (the busiest by requests); a window's "
                              "summary is read by every later stage, so a crawler's thousands of one-off paths must "
                              "not grow it; the other routes' requests stay in `lines`, not in `routes`")
    dead_letter_payload_chars: int = Field(4096, ge=0)
    summary_version: int = Field(1, ge=1)
    fatal_levels: list[str] = Field(
        default_factory=lambda: ["fatal"],
        description="levels (as normalised: FATAL, panic, emerg and syslog 0 are `fatal`) whose errors take the "
                    "fast path: the incident opens and pages within seconds, before the window closes; [] turns "
                    "levels off")
    fatal_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FATAL_PATTERNS),
        description="regexes (case-insensitive, `^` at any line start) on an error's type, title and first "
                    "sample that take the fast path whatever its level: a process died (the crashes "
                    "`[incidents.severity]` makes P1); [] turns patterns off")

    @field_validator("ignore_patterns", "fatal_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{info.field_name}[{index}] is not a valid regex: {exc.msg}") from None
        return patterns
