"""An order is planned again from this worker's catalog: what may run, with which argv, for real or not."""

from __future__ import annotations

import pytest

from agents.executor.plan import Refused, plan_order
from tests.unit.executor.conftest import order


def test_the_argv_takes_each_parameter_as_one_element(catalog):
    plan = plan_order(order("scale-to", params={"service": "payments", "replicas": "4"}), catalog, allow_real=True)
    assert plan.argv[-2:] == ("payments", "--replicas=4")
    assert plan.argv[0] == "python3" and not plan.dry_run


@pytest.mark.parametrize("runbook_real, allow_real, order_dry, dry", [
    (True, True, False, False),   # the only way to run for real
    (True, False, False, True),   # the configuration says no
    (True, True, True, True),     # the order says no
    (False, True, False, True),   # the runbook says no
])
def test_dry_run_unless_runbook_configuration_and_order_all_say_real(catalog, runbook_real, allow_real, order_dry,
                                                                     dry):
    runbook = "restart-service" if runbook_real else "restart-service-dry"
    assert plan_order(order(runbook, dry_run=order_dry), catalog, allow_real=allow_real).dry_run is dry


@pytest.mark.parametrize("kwargs, reason", [
    ({"runbook": "rm-everything"}, "not in the catalog"),
    ({"params": {}}, "parameter service missing"),
    ({"params": {"service": "payments", "force": "yes"}}, "does not declare"),
    ({"params": {"service": "a; rm -rf /"}, "service": "a; rm -rf /"}, "service is not a plain token"),
    ({"params": {"service": "--kill-all"}, "service": "--kill-all"}, "not a plain token"),
    ({"params": {"service": "../../etc"}, "service": "../../etc"}, "not a plain token"),
    ({"params": {"service": "billing"}}, "not the incident's own service"),
])
def test_orders_outside_the_catalog_or_its_schema_are_refused(catalog, kwargs, reason):
    with pytest.raises(Refused, match=reason) as err:
        plan_order(order(**kwargs), catalog, allow_real=True)
    assert "rm -rf" not in str(err.value) and "billing" not in str(err.value)


def test_a_choice_outside_the_declared_ones_is_refused(catalog):
    with pytest.raises(Refused, match="declared choices"):
        plan_order(order("scale-to", params={"service": "payments", "replicas": "400"}), catalog, allow_real=True)
