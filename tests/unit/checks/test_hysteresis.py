"""A failing check is a finding: it opens an incident, which resolves after N ok results in a row."""

from __future__ import annotations

from agents.incidents.config import IncidentsConfig
from agents.incidents.effects import Publish
from agents.incidents.lifecycle import apply, event_time
from schemas.records import CheckResult, IncidentEvent

T0 = 1772445600.0
CFG = IncidentsConfig()


def _check(n: int, status: str, recover_after: int = 3, check: str = "disk:/") -> CheckResult:
    return CheckResult(id=f"web-1|{check}|{n}", check=check, service="payments", host="web-1", status=status,
                       value=91.0 if status == "fail" else 40.0, recover_after=recover_after,
                       message=f"disk / {'91' if status == 'fail' else '40'}% used", at=T0 + 30 * n)


def _play(results):
    state, types = None, []
    for result in results:
        state, effects = apply(state, result, event_time(result), CFG)
        types.append([e.record.type for e in effects if isinstance(e, Publish)
                      and isinstance(e.record, IncidentEvent) and e.record.type in ("opened", "resolved")])
    return state, types


def test_incident_resolves_on_the_nth_ok_result_not_before():
    state, types = _play([_check(0, "fail"), _check(1, "ok"), _check(2, "ok"), _check(3, "ok")])
    assert types == [["opened"], [], [], ["resolved"]]
    assert state.incident.status == "resolved"


def test_a_failure_between_oks_starts_the_count_again():
    results = [_check(0, "fail"), _check(1, "ok"), _check(2, "ok"), _check(3, "fail"),
               _check(4, "ok"), _check(5, "ok"), _check(6, "ok")]
    _, types = _play(results)
    assert types == [["opened"], [], [], [], [], [], ["resolved"]]


def test_unknown_results_neither_open_nor_count_as_ok():
    _, types = _play([_check(0, "unknown"), _check(1, "fail"), _check(2, "ok"), _check(3, "unknown"),
                      _check(4, "ok"), _check(5, "ok"), _check(6, "ok")])
    assert types == [[], ["opened"], [], [], [], [], ["resolved"]]


def test_without_hysteresis_one_ok_resolves():
    _, types = _play([_check(0, "fail", recover_after=1), _check(1, "ok", recover_after=1)])
    assert types == [["opened"], ["resolved"]]


def test_two_failing_checks_each_need_their_own_oks():
    results = [_check(0, "fail"), _check(1, "fail", check="memory")]
    results += [_check(n, "ok") for n in range(2, 5)]
    results += [_check(n, "ok", check="memory") for n in range(5, 8)]
    _, types = _play(results)
    assert types[-1] == ["resolved"] and not any(types[2:-1])
