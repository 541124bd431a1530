"""Configuration of the incidents stage (section `[incidents]` of the TOML file, `LOGWARDEN_INCIDENTS__*` variables).

Every threshold of the incident lifecycle lives here, so the reducer has no magic numbers.
Times are seconds of event time. Nothing here is a secret, and nothing here reads a
file: the runbook index comes in as names (`with_runbook_index`), the runbooks' specs
and the approval policy as values (`with_fix_policy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from agents.incidents.impact import SeverityRules
from agents.runbooks.catalog import RunbookSpec

__all__ = ["IncidentsConfig"]


class IncidentsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Clean (or silent, or one-off only) windows in a row that resolve an open incident.
    resolve_after: int = Field(5, ge=1)
    # Event time between AI-written updates while an incident is open.
    update_interval_s: float = Field(300.0, gt=0)
    # A recurrence within this long after resolution reopens the same incident.
    reopen_window_s: float = Field(1800.0, ge=0)
    # One-off rule: a finding seen for the first time, not in the registry, with at most
    # this many occurrences in its window and a level listed below, is ticketed silently.
    oneoff_max_count: int = Field(1, ge=0)
    oneoff_levels: list[str] = Field(default_factory=lambda: ["error", "warning"])
    # Length of one all-clear digest period (the hourly digest).
    digest_interval_s: float = Field(3600.0, gt=0)
    # Replays: every digest period held until the input has ended (the replay runner says
    # so on `incidents.digest`), then each sent from all of its parts, so none comes late
    # however unevenly the partitions were read.
    digest_at_end_of_input: bool = False
    # Registry entries not seen for this long are deleted by the periodic cleanup.
    registry_ttl_s: float = Field(3 * 86400.0, gt=0)
    registry_cleanup_interval_s: float = Field(86400.0, gt=0)
    # Entries offered to the AI registry match: the service's latest ones, 10 at most.
    registry_match_candidates: int = Field(10, ge=1, le=10)
    # Hard cap per service; the least recently seen entries go first.
    registry_max_entries: int = Field(500, ge=1)
    # An AI request unanswered for this long (event time) gets the built-in decision.
    ai_timeout_s: float = Field(30.0, gt=0, description="event time; `up --demo` multiplies the default by "
                                                     "its 24x clock, a value set is kept")
    # A clock tick (incidents.clock) moves a service's time only when it is at most this
    # far ahead of the service's own event time: a service whose records are far behind
    # (a replay of history, a backlog) keeps running on its records' time alone.
    clock_max_lead_s: float = Field(600.0, ge=0)
    # Where resolution reports are written; relative paths are under the data dir.
    reports_dir: Path = Path("reports")
    # Runbooks a post-resolution review may propose. As configured: names of the runbook
    # index (`ai.runbooks_index`), empty meaning all of them; once loaded
    # (`with_runbook_index`): exactly the allowed names, empty meaning none.
    runbooks: list[str] = Field(default_factory=list)
    # Failing host checks with status "warn" open incidents too (else only "fail").
    check_warn_opens: bool = False
    # Alerts with severity "info" open incidents too.
    alert_info_opens: bool = False
    # Severity from impact (crashes, fatal levels, whole-service and endpoint outages,
    # write vs read paths): thresholds and their reasons in `agents.incidents.impact`.
    severity: SeverityRules = Field(default_factory=SeverityRules)
    # Memory bounds of one service's state.
    dedupe_ids_kept: int = Field(512, ge=16)
    timeline_max: int = Field(300, ge=10)
    closed_incidents_kept: int = Field(20, ge=0)
    fingerprints_kept: int = Field(2000, ge=10)

    # Filled once the configuration is loaded (`with_fix_policy`), never from TOML: the
    # catalog's specs of the allowed runbooks and the `[approvals]` policy, so the pure
    # reducer proposes and decides without reading a file or another section.
    _runbook_specs: dict[str, RunbookSpec] = PrivateAttr(default_factory=dict)
    _approvers: tuple[str, ...] = PrivateAttr(default=())
    _second_approver_for_p1: bool = PrivateAttr(default=False)
    _proposal_ttl_s: float = PrivateAttr(default=3600.0)

    @property
    def runbook_specs(self) -> dict[str, RunbookSpec]:
        """The specs of the runbooks that may be proposed (allowed by `runbooks` and valid)."""
        return self._runbook_specs

    @property
    def approvers(self) -> tuple[str, ...]:
        return self._approvers

    @property
    def second_approver_for_p1(self) -> bool:
        return self._second_approver_for_p1

    @property
    def proposal_ttl_s(self) -> float:
        return self._proposal_ttl_s

    def with_fix_policy(self, specs: Mapping[str, RunbookSpec], approvers: Iterable[str] = (),
                        second_approver_for_p1: bool = False, proposal_ttl_s: float = 3600.0) -> "IncidentsConfig":
        """This configuration with the runbook catalog's specs (only those `runbooks` allows)
        and the approval policy of `[approvals]`."""
        out = self.model_copy()
        out._runbook_specs = {name: specs[name] for name in self.runbooks if name in specs}
        out._approvers = tuple(approvers)
        out._second_approver_for_p1 = bool(second_approver_for_p1)
        out._proposal_ttl_s = float(proposal_ttl_s)
        return out

    def with_runbook_index(self, indexed: Iterable[str]) -> "IncidentsConfig":
        """This configuration with `runbooks` resolved against the names of the runbook index.

        Empty means every indexed runbook (sorted); a configured name the index does not
        hold is dropped, never proposed.
        """
        known = set(indexed)
        chosen = [name for name in self.runbooks if name in known] if self.runbooks else sorted(known)
        return self.model_copy(update={"runbooks": chosen})
