"""Configuration of the baselines stage (section `[baselines]`, `LOGWARDEN_BASELINES__*` variables)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["BaselinesConfig", "HealthConfig"]


class BaselinesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    windows: bool = Field(True, description="baseline each service's error rate and log volume (signals.windows)")
    checks: bool = Field(True, description="baseline the metrics of host check results")
    probes: bool = Field(True, description="baseline probe values")
    timezone: str = Field("UTC", description="time zone of the hour-of-week buckets (\"Tuesday 10:00\")")
    threshold: float = Field(5.0, gt=0, description="deviation, in robust standard deviations (1.4826 MAD), that counts")
    min_spread: float = Field(0.5, ge=0, description="smallest spread assumed, in the series' unit (counts of 0 have MAD 0)")
    relative_spread: float = Field(0.05, ge=0, description="smallest spread assumed, as a fraction of the usual value")
    surge_ratio: float = Field(2.0, gt=1, description="log volume above usual counts only at this multiple of usual")
    drop_ratio: float = Field(0.5, gt=0, lt=1, description="log volume at or below this fraction of usual is a drop")
    drop_threshold: float = Field(3.0, gt=0, description="... when also this many robust standard deviations below usual")
    silent_min_lines: float = Field(10.0, ge=0, description="usual lines/min at or above which a silent window counts")
    confirm: int = Field(2, ge=1, le=60, description="results in a row that open (deviating) or end (usual) a finding")
    bucket_samples: int = Field(120, ge=10, le=2000, description="values kept per hour-of-week bucket (newest)")
    min_bucket_samples: int = Field(30, ge=3, description="values a bucket needs before it is the reference")
    recent_samples: int = Field(120, ge=10, le=2000, description="values kept for the decayed fallback")
    min_recent_samples: int = Field(10, ge=3, description="values the fallback needs before it judges anything")
    half_life_s: float = Field(6 * 3600.0, gt=0, description="half-life of a value's weight in the fallback")
    relearn_after_s: float = Field(6 * 3600.0, gt=0, description="a deviation lasting this long is learned as usual")
    max_series_per_service: int = Field(64, ge=1, description="series kept per service; more are not baselined")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value


class HealthConfig(BaseModel):
    """Section `[health]`: the periodic health report the baselines stage writes."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="write a health report per period (runs in the `baselines` stage)")
    # An hour: the unit of the hour-of-week baselines ("usual for Tuesday 10:00") and of the
    # hourly all-clear digest, so one report compares one hour with its own usual values.
    period_s: float = Field(3600.0, ge=60, le=7 * 86400,
                            description="length of one health period, in event time, aligned to the epoch")
    digest: bool = Field(False, description="also post the report when everything is normal "
                                            "(one 'all normal' line per service); off: nothing is sent then")
    max_normal_listed: int = Field(6, ge=0, le=100,
                                   description="normal series named per unusual service before 'and N more'")
