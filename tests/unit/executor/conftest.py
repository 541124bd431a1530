"""Fixtures of the executor tests: the test runbook catalog and an executor over a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.executor.run import Executor
from agents.runbooks.catalog import load_catalog
from schemas.records import Approval, FixOrder

INDEX = Path(__file__).resolve().parents[2] / "data" / "runbooks" / "index.toml"


@pytest.fixture(scope="session")
def catalog():
    loaded = load_catalog(INDEX)
    assert not loaded.rejected, loaded.rejected
    return loaded


def order(runbook: str = "restart-service", *, approval_id: str = "inc-payments-1:fix:1", service: str = "payments",
          params: dict[str, str] | None = None, dry_run: bool = False, at: float = 1_800_000_000.0) -> FixOrder:
    return FixOrder(approval_id=approval_id, incident_id=approval_id.split(":fix:")[0], service=service,
                    runbook=runbook, params={"service": service} if params is None else params,
                    approved_by=["cli:alice"], dry_run=dry_run, at=at)


class Announcements:
    """The `announce` callback: records what was published before the run."""

    def __init__(self):
        self.records: list[Approval] = []

    async def __call__(self, record: Approval) -> None:
        self.records.append(record)


@pytest.fixture
def announced():
    return Announcements()


@pytest.fixture
def make_executor(catalog, tmp_path):
    def make(*, allow_real: bool = True, max_output_bytes: int = 1024) -> Executor:
        return Executor(catalog, tmp_path / "fixes", allow_real=allow_real, max_output_bytes=max_output_bytes,
                        clock=lambda: 1_900_000_000.0)

    return make
