"""The incident stage keeps each service's state from its last fold instead of reading it
back from the table (`fold.StateCache`). What a user would notice if it were wrong: a
different event, page or table write than the worker that read the table (a restarted
worker, a replay). So the stream of the state-writes benchmark (6 services, errors for
three minutes then clean ones until all resolve, AI answers, tickets with receipts, clock
ticks on four partitions) is folded both ways and every effect must be the same, in
order; and a table changed by anything but the fold that was cached is read again."""

from __future__ import annotations

import asyncio

import orjson

from agents.incidents.config import IncidentsConfig
from agents.incidents.fold import StateCache, fold_record
from ops.bench.state_writes import play, windows
from schemas.effects import Store
from schemas.records import WindowSummary

T0 = 1_790_000_040.0


def test_every_effect_is_the_same_with_the_cache_as_reading_the_table_each_time():
    # Errors for three minutes, then clean minutes until every incident resolves.
    stream = windows(6, 600, 3, 0.02, seed=3, t0=T0)
    stream += [_window(f"svc-{i:02d}", minute) for minute in range(3, 12) for i in range(6)]
    plain: list = []
    cached: list = []
    cache = StateCache()
    taken = []
    take = cache.take

    def counting_take(table, service):  # noqa: ANN001, ANN202
        state = take(table, service)
        taken.append(state is not None)
        return state

    cache.take = counting_take  # type: ignore[method-assign]
    asyncio.run(play(stream, "parts", IncidentsConfig(), trace=plain))
    asyncio.run(play(stream, "parts", IncidentsConfig(), cache=cache, trace=cached))
    events = [e for e in plain if e[0] == "incidents.events"]
    assert len(events) > 100 and {"opened", "resolved"} <= {e[2]["type"] for e in events}
    # Compared as JSON text: the same values, and in the same order and types (5 and 5.0
    # are equal in Python, not on the changelog).
    assert [orjson.dumps(e) for e in cached] == [orjson.dumps(e) for e in plain]
    # The cache was used: all but each service's first record and those after a tick wrote.
    assert sum(taken) > len(taken) / 2, (sum(taken), len(taken))


def _window(service: str, minute: int) -> WindowSummary:
    start = T0 + 60 * minute
    return WindowSummary(id=f"{service}|{start:.0f}|1", service=service, window_start=start, window_end=start + 60,
                         status="clean", lines=100)


def test_a_table_changed_behind_the_cache_is_read_again():
    cfg = IncidentsConfig()
    table: dict = {}
    cache = StateCache()

    def fold(minute: int):  # noqa: ANN202
        state, effects = fold_record(table, _window("checkout", minute), 0, cfg, cache=cache)
        for effect in effects:
            if isinstance(effect, Store):
                table[effect.key] = effect.value
        return state

    fold(0)
    first = fold(1)
    # A recovery from the changelog puts equal values back as new objects, with one change
    # the cached state does not have: the next fold must see it.
    recovered = {key: dict(value) for key, value in table.items()}
    recovered["checkout"]["clean_streak"] = 40
    table.clear()
    table.update(recovered)
    after = fold(2)
    assert first.clean_streak < 40 and after.clean_streak == 41
    # Writes that were never carried out (the publish before them failed): the table still
    # holds the older state, and the next fold starts from it, not from the cached one.
    _state, effects = fold_record(table, _window("checkout", 3), 0, cfg, cache=cache)
    assert any(isinstance(e, Store) for e in effects)
    assert fold(4).clean_streak == 42  # minute 3 never stored: 41 + 1
