"""The public contract of `incidents.events`: what each event type means and what its `data` holds.

Consumers (dashboards, bots, warehouses) read this; the record shape itself is
schemas.records.IncidentEvent (JSON Schema: schemas/json/incidents.events.json).
Ids: `event_id` is "<incident id or service>:<type>:<sequence>" (the sequence is per
service), "digest:<period start>" for digests; incident ids are
"<service>-<YYYYMMDDTHHMMZ of the opening window>-<per-service counter>". A replay
gives the same ids. Consumers must ignore unknown `data` keys: producers may add keys,
never remove the required ones listed here. This module is data; it decides nothing.
"""

from __future__ import annotations

__all__ = ["EVENT_TYPES"]

# type -> (meaning, data keys always present)
EVENT_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "digest": ("Hourly all-clear digest across services (incident_id and service empty). `event_id` is "
               "`digest:<period start>`; one sent again because a late service part was not clean has "
               "`digest:<period start>:update-<n>` and carries every part.",
               ("period_start", "period_end", "clean_services", "opened", "resolved", "still_open",
                "oneoffs", "services")),
    "finding_added": ("A fingerprint new to the incident (log error, alert or failing check).",
                      ("fingerprint", "kind", "endpoint", "error_type", "level", "count")),
    "acknowledged": ("A person acknowledged the incident: on-call is not paged again for it; channel "
                     "updates go on.", ("actor", "via")),
    "approval_refused": ("A decision changed nothing (reason: not_pending, already_decided, expired, "
                         "not_an_approver, same_approver, incident_closed).",
                         ("approval_id", "actor", "reason")),
    "closed": ("A person closed the incident; it is archived and will not reopen.", ("actor", "via")),
    "fix_approved": ("A person approved the proposed runbook (approvals: how many so far, needed: how many "
                     "the incident needs).", ("approval_id", "runbook", "actor", "via", "approvals", "needed")),
    "fix_escalated": ("Escalated instead of fixed (actor logwarden: the fix failed verification or did not "
                      "run; the ticket's priority is raised and on-call paged).",
                      ("approval_id", "runbook", "actor", "via", "reason")),
    "fix_executed": ("The executor ran the approved runbook (status ok, failed, timeout, interrupted, refused; "
                     "dry_run true: it only wrote what it would do).",
                     ("approval_id", "runbook", "actor", "status", "exit_status", "dry_run")),
    "fix_expired": ("Nobody decided on the proposal within its time to live.", ("approval_id", "runbook")),
    "fix_failed": ("Errors went on after the fix, through its verification window: escalated by itself.",
                   ("approval_id", "runbook", "verify_window_s")),
    "fix_proposed": ("An allowlisted runbook was proposed (while the incident is open, or by the review); "
                     "an approval was requested.", ("approval_id", "runbook", "params", "expires_at")),
    "fix_started": ("The executor is about to run the approved runbook.", ("approval_id", "runbook", "dry_run")),
    "fix_verified": ("No errors within the runbook's verification window after it ran: resolved, fixed by "
                     "the runbook.", ("approval_id", "runbook", "verify_window_s")),
    "note_added": ("A person added a note.", ("actor", "via", "text")),
    "oneoff_ticketed": ("A one-off error got a silent low-priority ticket (no incident, no alert).",
                        ("fingerprint", "entry_id", "label")),
    "opened": ("A new incident. From a fatal line before its window closed (the fast path of fatal errors), "
               "data also holds fast_path: true; that window's summary then extends the same incident, its "
               "count replacing the provisional one (no second finding_added, no second alert).",
               ("window_start", "fingerprints")),
    "registry_added": ("A known-issue entry was created.", ("entry_id", "fingerprint", "label")),
    "registry_expired": ("A known-issue entry was deleted (reason: ttl or capacity).",
                         ("entry_id", "last_seen", "ticket", "reason")),
    "registry_matched": ("A finding is a known issue (match: exact or ai).",
                         ("entry_id", "match", "confidence", "fingerprint", "ticket")),
    "reopened": ("A recurrence inside the reopen window reopened a resolved incident.", ("reopen_count",)),
    "resolved": ("Enough clean windows and no firing alert or check (by: logwarden), a verified fix "
                 "(by: the runbook), or a person (by: the actor): resolved.",
                 ("clean_windows", "duration_s", "by")),
    "review_posted": ("The post-resolution review.",
                      ("fix_needed", "runbook", "runbook_allowed", "related_tickets", "rationale")),
    "severity_changed": ("The incident's severity rose.", ("from", "to")),
    "ticket_commented": ("A comment was sent to a ticket (reason: reappeared, new_finding, report, "
                         "reopened, review, summary = the AI summary of the first alert, fix, escalated, "
                         "acknowledged, note, closed).", ("label", "reason")),
    "ticket_created": ("The ticket system confirmed a ticket (kind: ticket_create or oneoff_ticket).",
                       ("ticket", "label", "kind")),
    "ticket_resolved": ("The incident's ticket was set resolved.", ("label", "tickets")),
    "update_posted": ("A notification went out (kind: alert = first alert, sent as soon as the incident "
                      "opens with built-in text; summary_edit = the first alert's message edited with the AI "
                      "summary; update = 5-minute update; realert = severity rise).", ("kind",)),
}
