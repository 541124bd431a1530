"""incidents stage: pure modules plus a thin shell (agent.py) and its read endpoints (web.py).

Public API of the pure core, for the shell and the read side:
- lifecycle.apply / lifecycle.event_time: the per-service reducer and its clock;
- state.ServiceState: the one table value per service (incident + registry + counters);
- effects.Publish / effects.WriteReport: what to carry out;
- fixes / actions: the fix workflow and people's actions (ops/APPROVALS.md), inside `apply`;
- digest.DigestPart / digest.DigestBook / digest.apply_digest_part: the hourly digest;
- views.incident_view / find_incident / registry_view / incident_metrics: reading.

The `incidents.events` contract is schemas/contract.py. Built-in decisions on AI
timeouts are the local provider's answers (agents.local_ai): this package never
imports the ai stage (agents.ai), nor the ai stage this one.
"""
