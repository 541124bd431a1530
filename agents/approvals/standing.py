"""Where an approval stands, read from a service's incident state (the reducer's table value).

Only for a clear answer before publishing ("already approved by X", "expired"): the
reducer alone decides, and refuses a decision on an approval that is not pending
whatever is said here. Read defensively, as plain JSON: the state belongs to the
incident stage: a proposal is an object in `fixes` (`status`, `approved_by`,
`expires_at`), or, in states without `fixes`, only its incident id in `approvals`.

Pure: never reads a clock or a table; the shell passes the state and `now` in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

__all__ = ["PENDING", "Standing", "approval_standing", "incident_known"]

PENDING = frozenset({"pending", "requested", "proposed", "waiting", "waiting_for_approval"})
_WORDS = {"approve": "approved", "approved": "approved", "escalate": "escalated", "escalated": "escalated",
          "expired": "expired", "started": "being run", "running": "being run", "executing": "being run",
          "executed": "run", "verifying": "run and is being verified", "verified": "run and verified",
          "failed": "run, and it did not fix the errors", "refused": "refused", "closed": "closed",
          "withdrawn": "withdrawn (the incident is over)", "settled": "settled"}


@dataclass(frozen=True)
class Standing:
    approval_id: str
    incident_id: str = ""
    status: str = "unknown"  # pending, approved, escalated, expired, ..., unknown
    decided_by: str = ""
    expires_at: float | None = None
    runbook: str = ""
    command: str = ""  # what it would run, as the proposal said
    dry_run: bool = True

    @property
    def known(self) -> bool:
        return self.status != "unknown"

    @property
    def pending(self) -> bool:
        return self.status in PENDING

    def describe(self) -> str:
        """One sentence for a person: why a decision now changes nothing."""
        if not self.known:
            return f"There is no proposed fix {self.approval_id}."
        if self.pending:
            return "The proposed fix is waiting for a decision."
        word = _WORDS.get(self.status, self.status.replace("_", " "))
        by = f" by {self.decided_by}" if self.decided_by and word in ("approved", "escalated") else ""
        return f"This fix was already {word}{by}; nothing more was done."

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "pending": self.pending}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Standing":
        expires = data.get("expires_at")
        return cls(approval_id=str(data.get("approval_id", "")), incident_id=str(data.get("incident_id", "")),
                   status=str(data.get("status", "unknown")), decided_by=str(data.get("decided_by", "")),
                   expires_at=float(expires) if isinstance(expires, (int, float)) else None,
                   runbook=str(data.get("runbook", "")), command=str(data.get("command", "")),
                   dry_run=data.get("dry_run") is not False)


def _decided_by(entry: Mapping[str, Any]) -> str:
    for key in ("decided_by", "approved_by", "escalated_by", "actor", "by"):
        value = entry.get(key)
        if isinstance(value, list) and value:
            return ", ".join(str(v) for v in value)
        if isinstance(value, str) and value:
            return value
    return ""


def approval_standing(state: Mapping[str, Any] | None, approval_id: str, now: float) -> Standing:
    entry = None
    if isinstance(state, Mapping):
        for key in ("fixes", "proposals", "approvals"):
            table = state.get(key)
            if isinstance(table, Mapping) and approval_id in table:
                entry = table[approval_id]
                break
    if entry is None:
        return Standing(approval_id)
    if isinstance(entry, str):  # approval id -> incident id
        # With the proposals kept beside (`fixes`, bounded: settled ones go first), one
        # missing from there is settled; without them, decided by nobody yet.
        settled = isinstance(state, Mapping) and isinstance(state.get("fixes"), Mapping)
        return Standing(approval_id, incident_id=entry, status="settled" if settled else "pending")
    if not isinstance(entry, Mapping):
        return Standing(approval_id)
    status = str(entry.get("status") or entry.get("state") or "pending").lower()
    expires = entry.get("expires_at")
    expires_at = float(expires) if isinstance(expires, (int, float)) else None
    if status in PENDING and expires_at is not None and now >= expires_at:
        status = "expired"
    command = entry.get("command")
    return Standing(approval_id, incident_id=str(entry.get("incident_id", "")), status=status,
                    decided_by=_decided_by(entry), expires_at=expires_at, runbook=str(entry.get("runbook", "")),
                    command=" ".join(map(str, command)) if isinstance(command, list) else str(command or ""),
                    dry_run=entry.get("dry_run") is not False)


def incident_known(state: Mapping[str, Any] | None, incident_id: str) -> bool:
    """Whether the state holds the incident (open, resolved, or in its closed list)."""
    if not isinstance(state, Mapping):
        return False
    current = state.get("incident")
    if isinstance(current, Mapping) and current.get("incident_id") == incident_id:
        return True
    closed = state.get("closed")
    return isinstance(closed, list) and any(isinstance(c, Mapping) and c.get("incident_id") == incident_id
                                            for c in closed)
