"""Read endpoints of the incident stage: `GET /incidents[/{id}]` and `GET /registry`.

A service's state lives on the worker that owns its partition: a request naming a
service or incident is routed there (Faust's router); a plain list answers from this
worker's partitions and says so. Read-only: never writes a table.
"""

from __future__ import annotations

import faust
from faust.exceptions import SameNode

from agents.incidents import layout
from agents.incidents.state import ServiceState
from agents.incidents.views import find_incident, incident_view, registry_view

__all__ = ["register_views", "service_of_incident"]


def service_of_incident(incident_id: str) -> str:
    """Incident ids are `<service>-<YYYYMMDDTHHMMZ>-<n>`: the service is what precedes."""
    parts = incident_id.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else incident_id


def register_views(stage, states) -> None:  # noqa: ANN001 - StageRunner, faust Table
    app = stage.app

    def local_states():
        for service, _core in layout.cores(list(states.items())):
            yield layout.load(states, service)

    def state_of(service: str) -> ServiceState | None:
        return layout.load(states, service)

    async def route_or_answer(view, request, key: str, answer):  # noqa: ANN001
        try:
            return await app.router.route_req(states.name, key, view.web, request)
        except SameNode:
            result = answer()
            return view.json(result) if isinstance(result, dict) else result

    @stage.page("/incidents")
    class Incidents(faust.web.View):
        async def get(self, request):  # noqa: ANN001
            service = request.query.get("service")
            if service:
                def one() -> dict:
                    state = state_of(service)
                    return incident_view(state) if state else {"service": service, "incident": None}
                return await route_or_answer(self, request, service, one)
            owned = sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == "signals.windows")
            return self.json({"services": [incident_view(s) for s in local_states()], "partitions": owned,
                              "note": "this worker's partitions; ?service=NAME routes to its owner"})

    @stage.page("/incidents/{incident_id}")
    class IncidentDetail(faust.web.View):
        async def get(self, request, incident_id):  # noqa: ANN001
            service = service_of_incident(incident_id)

            def answer():
                state = state_of(service)
                found = find_incident(state, incident_id) if state else None
                if found is None:
                    return self.json({"error": "not_found", "message": f"no incident {incident_id}"}, status=404)
                return self.json(found)

            return await route_or_answer(self, request, service, answer)

    @stage.page("/registry")
    class Registry(faust.web.View):
        async def get(self, request):  # noqa: ANN001
            return self.json({"entries": [e for s in local_states() for e in registry_view(s)]})
