"""Thin Faust shell of the incident stage.

One agent reads every input of the state machine (windows, alerts, checks, AI results,
receipts, approvals), all keyed by service and co-partitioned, folds each into the
service's changelogged `ServiceState` with the pure reducer, publishes the effects
(acknowledged), writes reports, then stores the new state. A crash in between replays
the event: the reducer's deterministic ids make downstream effects idempotent.

A second agent on the single-partition `incidents.digest` topic assembles the hourly
all-clear digest across services. Read endpoints serve `GET /incidents[/{id}]`,
routed to the worker that owns the service's partition.
"""

from __future__ import annotations

import logging
from pathlib import Path

import faust
from prometheus_client import Counter, Gauge, Histogram

from agents.incidents.digest import DigestBook, DigestPart, apply_digest_part
from agents.incidents.effects import Publish, WriteReport
from agents.incidents.lifecycle import apply, event_time
from agents.incidents.state import ServiceState
from agents.incidents.views import find_incident, incident_metrics, incident_view, registry_view
from schemas.records import AIResult, Alert, Approval, CheckResult, Receipt, WindowSummary
from streams.logs import trace_context

__all__ = ["INPUTS", "register"]

log = logging.getLogger(__name__)

INPUTS = {
    "signals.windows": WindowSummary,
    "alerts.raw": Alert,
    "checks.results": CheckResult,
    "ai.results": AIResult,
    "notify.receipts": Receipt,
    "approvals": Approval,
}

OPEN = Gauge("logwarden_incidents_open", "Open incidents (this worker's partitions)")
EVENTS = Counter("logwarden_incident_events", "incidents.events published, by type", ["type"])
TIME_TO_RESOLVE = Histogram("logwarden_incident_time_to_resolve_seconds", "Event time from open to resolved",
                            buckets=(60, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600))


def service_of_incident(incident_id: str) -> str:
    """Incident ids are `<service>-<YYYYMMDDTHHMMZ>-<n>`: the service is what precedes."""
    parts = incident_id.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else incident_id


def _with_runbook_allowlist(cfg):
    """One allowlist for the whole pipeline: the runbook index the AI stage reads.

    `incidents.runbooks` empty means "every runbook of the index"; names configured
    there that the index does not hold are dropped, never proposed."""
    from agents.ai.runbooks import load_allowlist

    indexed = load_allowlist(cfg.ai.runbooks_index)
    chosen = [r for r in cfg.incidents.runbooks if r in indexed] if cfg.incidents.runbooks else sorted(indexed)
    return cfg.incidents.model_copy(update={"runbooks": chosen})


def register(app: faust.App, topology, cfg) -> None:
    icfg = _with_runbook_allowlist(cfg)
    states = app.Table("incident-states", partitions=cfg.partitions,
                      schema=faust.Schema(key_type=str, value_type=None, key_serializer="json", value_serializer="json"))
    digest_books = app.Table("digest-book", partitions=1,
                      schema=faust.Schema(key_type=str, value_type=None, key_serializer="json", value_serializer="json"))
    reports_dir = Path(icfg.reports_dir)
    if not reports_dir.is_absolute():
        reports_dir = Path(cfg.data_dir) / reports_dir
    open_by_service: dict[str, int] = {}

    async def carry_out(effects, trace_id: str) -> None:
        for effect in effects:
            if isinstance(effect, Publish):
                record = effect.record
                if not record.trace_id and trace_id:
                    record = record.model_copy(update={"trace_id": trace_id})
                await topology.publish(effect.topic, effect.key, record)
                if effect.topic == "incidents.events":
                    EVENTS.labels(record.type).inc()
                    if record.type == "resolved" and "duration_s" in record.data:
                        TIME_TO_RESOLVE.observe(max(0.0, float(record.data["duration_s"])))
            elif isinstance(effect, WriteReport):
                reports_dir.mkdir(parents=True, exist_ok=True)
                (reports_dir / effect.filename).write_text(effect.content)
                log.info("incident report written: %s", effect.filename)

    inputs = app.topic(*INPUTS, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    @app.agent(inputs, concurrency=1, name="logwarden.incidents")
    async def incidents(stream):
        async for event in stream.events():
            topic = event.message.topic
            try:
                record = INPUTS[topic].model_validate_json(event.value)
            except ValueError as exc:
                await topology.reject(event, "incidents", "invalid_record", exc)
                continue
            service = getattr(record, "service", "") or (event.key or b"").decode(errors="replace")
            if isinstance(record, Approval) and not record.detail.get("service"):
                record = record.model_copy(update={"detail": {**record.detail, "service": service}})
            with trace_context(record.trace_id):
                try:
                    raw = states.get(service)
                    state = ServiceState.model_validate(raw) if raw else None
                    new_state, effects = apply(state, record, event_time(record), icfg)
                except Exception as exc:  # noqa: BLE001 - a reducer bug must not stop every service
                    log.exception("incident reducer failed on %s", topic)
                    await topology.reject(event, "incidents", "reducer_error", exc, key=service,
                                          trace_id=record.trace_id)
                    continue
                await carry_out(effects, record.trace_id)
                states[service] = new_state.model_dump(mode="json")
                open_by_service[service] = int(incident_metrics(new_state).get("open", 0))
                OPEN.set(sum(open_by_service.values()))

    @app.agent(topology["incidents.digest"], concurrency=1, name="logwarden.digest")
    async def digest(stream):
        async for event in stream.events():
            try:
                part = DigestPart.model_validate_json(event.value)
            except ValueError as exc:
                await topology.reject(event, "incidents", "invalid_digest_part", exc)
                continue
            raw = digest_books.get("digest")
            book = DigestBook.model_validate(raw) if raw else None
            book, effects = apply_digest_part(book, part, icfg)
            await carry_out(effects, part.trace_id)
            digest_books["digest"] = book.model_dump(mode="json")

    def local_states():
        for key, raw in states.items():
            if raw:
                yield ServiceState.model_validate(raw)

    @app.page("/incidents")
    class Incidents(faust.web.View):
        async def get(self, request):
            service = request.query.get("service")
            if service:
                return await route_or_answer(self, request, service,
                                             lambda: _service_answer(states, service))
            out = [incident_view(s) for s in local_states()]
            owned = sorted(tp.partition for tp in app.assignor.assigned_actives()
                           if tp.topic == "signals.windows")
            return self.json({"services": out, "partitions": owned,
                              "note": "this worker's partitions; ?service=NAME routes to its owner"})

    @app.page("/incidents/{incident_id}")
    class IncidentDetail(faust.web.View):
        async def get(self, request, incident_id):
            service = service_of_incident(incident_id)

            def answer():
                raw = states.get(service)
                found = find_incident(ServiceState.model_validate(raw), incident_id) if raw else None
                if found is None:
                    return self.json({"error": "not_found", "message": f"no incident {incident_id}"}, status=404)
                return self.json(found)

            return await route_or_answer(self, request, service, answer)

    @app.page("/registry")
    class Registry(faust.web.View):
        async def get(self, request):
            entries = [e for s in local_states() for e in registry_view(s)]
            return self.json({"entries": entries})

    async def route_or_answer(view, request, key: str, answer):
        from faust.exceptions import SameNode

        try:
            return await app.router.route_req(states.name, key, view.web, request)
        except SameNode:
            result = answer()
            return view.json(result) if isinstance(result, dict) else result

    def _service_answer(table, service):
        raw = table.get(service)
        if not raw:
            return {"service": service, "incident": None}
        return incident_view(ServiceState.model_validate(raw))
