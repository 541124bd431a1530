"""The decision desk with a broker stub and an incident-state stub routed as the real shell does:
approval id -> incident id -> service -> that service's state (the reducer's table value)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from agents.approvals.config import ApprovalsConfig
from agents.approvals.desk import DecisionDesk
from agents.approvals.links import incident_of_approval
from agents.approvals.standing import approval_standing, incident_known

NOW = 1_800_000_000.0
LINK_SECRET = "LINKsecretFORtests0123456789"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "tok-OPS-0123456789abcdef"
INCIDENT = "checkout-20270115T0800Z-1"
APPROVAL = f"{INCIDENT}:fix:3"
OTHER_INCIDENT = "payments-20270115T0900Z-2"
OTHER_APPROVAL = f"{OTHER_INCIDENT}:fix:1"


def service_of(incident_id: str) -> str:  # the incident stage's id format
    parts = incident_id.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else incident_id


class Broker:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, Any]] = []
        self.up = True

    async def publish(self, topic: str, key: str, record: Any) -> bool:
        if not self.up:
            return False
        self.records.append((topic, key, record))
        return True


class States:
    """service -> raw state JSON, looked up the way `agents.approvals.web` does."""

    def __init__(self) -> None:
        self.by_service: dict[str, dict] = {
            service: {"service": service, "incident": {"incident_id": incident, "status": "open"},
                      "approvals": {approval: incident},
                      "fixes": {approval: {"approval_id": approval, "incident_id": incident, "runbook": "restart",
                                           "command": ["systemctl", "restart", service], "dry_run": True,
                                           "status": "pending", "proposed_at": NOW - 60, "expires_at": NOW + 3600,
                                           "approved_by": []}}}
            for service, incident, approval in (("checkout", INCIDENT, APPROVAL),
                                                ("payments", OTHER_INCIDENT, OTHER_APPROVAL))}
        self.reachable = True

    async def approval(self, approval_id: str):
        if not self.reachable:
            return None
        return approval_standing(self.by_service.get(service_of(incident_of_approval(approval_id))), approval_id, NOW)

    async def incident(self, incident_id: str):
        if not self.reachable:
            return None
        return incident_known(self.by_service.get(service_of(incident_id)), incident_id)

    def decide(self, approval_id: str, status: str, by: str = "") -> None:
        """What the reducer keeps once it accepted a decision (agents.incidents.state.FixProposal)."""
        state = self.by_service[service_of(incident_of_approval(approval_id))]
        fix = state["fixes"][approval_id]
        state["fixes"] = {**state["fixes"], approval_id: {**fix, "status": status,
                                                          "approved_by": [by] if status == "approved" else []}}


def config(**overrides: Any) -> ApprovalsConfig:
    base = {"link_secret": SecretStr(LINK_SECRET), "public_url": "https://lw.example.test",
            "api_tokens": {"ops": SecretStr(TOKEN)}, "slack_signing_secret": SecretStr(SLACK_SECRET)}
    return ApprovalsConfig(**{**base, **overrides})


@pytest.fixture
def broker() -> Broker:
    return Broker()


@pytest.fixture
def states() -> States:
    return States()


@pytest.fixture
def make_desk(broker: Broker, states: States):
    def build(**overrides: Any) -> DecisionDesk:
        return DecisionDesk(config(**overrides), publish=broker.publish, approval=states.approval,
                            incident=states.incident, service_of=service_of)
    return build


@pytest.fixture
def desk(make_desk) -> DecisionDesk:
    return make_desk()
