"""incidents stage: pure modules plus one thin Faust module (agent.py).

Public API of the pure core, for the Faust shell and the read side:
- lifecycle.apply / lifecycle.event_time: the per-service reducer and its clock;
- state.ServiceState: the one table value per service (incident + registry + counters);
- effects.Publish / effects.WriteReport: what to carry out;
- digest.DigestPart / digest.DigestBook / digest.apply_digest_part: the hourly digest;
- views.incident_view / find_incident / registry_view / incident_metrics: reading;
- fallback.fallback_output: local answers to any AI task (also usable as a stand-in AI);
- contract.EVENT_TYPES: the documented `incidents.events` types.
"""
