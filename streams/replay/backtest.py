"""What a configuration change would have done: two replay reports of the same input compared.

Incidents are matched by service and overlapping time (opened .. resolved, or the end
of the replay): one current incident covered by none of the candidate's was `missed`,
a candidate incident covering none of the current ones is `opened`, one current incident
covered by several candidate ones was `split`, several current ones covered by one
candidate incident were `merged`. Pages, tickets and time to first alert are compared per
service. Only differences are listed. Pure.
"""

from __future__ import annotations

from typing import Any

from streams.replay.report import per_service

__all__ = ["compare", "render_comparison"]


def _span(inc: dict[str, Any], end: float) -> tuple[float, float]:
    start = inc.get("window_start") if inc.get("window_start") is not None else inc["opened_at"]
    return float(start), float(inc["resolved_at"] if inc["resolved_at"] is not None else end)


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def compare(current: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    end = max([e["at"] for e in current["events"] + candidate["events"]] or [0.0])
    changes: list[dict[str, Any]] = []
    cur, cand = current["incidents"], candidate["incidents"]
    covers = {c["incident_id"]: [d["incident_id"] for d in cand if d["service"] == c["service"]
                                 and _overlaps(_span(c, end), _span(d, end))] for c in cur}
    covered_by = {d["incident_id"]: [c["incident_id"] for c in cur if d["incident_id"] in covers[c["incident_id"]]]
                  for d in cand}
    for c in cur:
        hits = covers[c["incident_id"]]
        if not hits:
            changes.append({"change": "missed", "service": c["service"], "current": [c["incident_id"]],
                            "candidate": []})
        elif len(hits) > 1:
            changes.append({"change": "split", "service": c["service"], "current": [c["incident_id"]],
                            "candidate": hits})
    for d in cand:
        hits = covered_by[d["incident_id"]]
        if not hits:
            changes.append({"change": "opened", "service": d["service"], "current": [],
                            "candidate": [d["incident_id"]]})
        elif len(hits) > 1:
            changes.append({"change": "merged", "service": d["service"], "current": hits,
                            "candidate": [d["incident_id"]]})
    a, b = per_service(current), per_service(candidate)
    services = []
    for service in sorted(set(a) | set(b)):
        row_a = a.get(service, {"incidents": 0, "pages": 0, "tickets": 0, "first_alert_s": []})
        row_b = b.get(service, {"incidents": 0, "pages": 0, "tickets": 0, "first_alert_s": []})
        diff = {k: {"current": row_a[k], "candidate": row_b[k]} for k in row_a if row_a[k] != row_b[k]}
        if diff:
            services.append({"service": service, **diff})
    resolved = [{"incident": c["incident_id"], "current": c["resolved_at"], "candidate": d["resolved_at"]}
                for c in cur for d in cand
                if covers[c["incident_id"]] == [d["incident_id"]] and covered_by[d["incident_id"]] == [c["incident_id"]]
                and c["resolved_at"] != d["resolved_at"]]
    return {"incidents": changes, "services": services, "resolved_at": resolved}


def render_comparison(diff: dict[str, Any]) -> str:
    if not (diff["incidents"] or diff["services"] or diff["resolved_at"]):
        return "no difference: the candidate configuration decides exactly as the current one\n"
    out = []
    for ch in diff["incidents"]:
        out.append(f"{ch['change']:<7} {ch['service']}: current {', '.join(ch['current']) or '-'} -> "
                   f"candidate {', '.join(ch['candidate']) or '-'}")
    for row in diff["resolved_at"]:
        shift = (row["candidate"] or 0) - (row["current"] or 0) if row["current"] and row["candidate"] else None
        out.append(f"resolved {row['incident']}: {row['current']} -> {row['candidate']}"
                   + (f" ({shift:+.0f} s)" if shift is not None else ""))
    for row in diff["services"]:
        parts = [f"{k} {v['current']} -> {v['candidate']}" for k, v in row.items() if k != "service"]
        out.append(f"service {row['service']}: " + "; ".join(parts))
    return "\n".join(out) + "\n"
