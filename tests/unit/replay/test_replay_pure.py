"""Replay's pure parts: namespace, file lines to records, the end tick, backtest differences."""

from __future__ import annotations

import json
from pathlib import Path

from agents.extract.config import ExtractConfig
from streams.replay.backtest import compare
from streams.replay.inputs import end_tick, file_records
from schemas.topics import TOPICS, by_name
from streams.replay.namespace import REPLAY_STAGES, Namespace, replay_overrides, session_timeout_s, topic_configs

T0 = 1_780_000_020.0  # 20:27:00 UTC


def test_namespace_isolates_topics_groups_and_state():
    ns = Namespace("abc")
    over = replay_overrides(ns, Path("/d"), 7001)
    assert over["topic_prefix"] == "replay.abc." and over["app_id"] == "logwarden-replay-abc"
    assert "ticks" not in REPLAY_STAGES and over["data_dir"] == "/d/replays/abc"
    assert over["notify"]["routes"] == [{"channels": ["console"]}]


def test_the_replay_worker_asks_no_shorter_session_than_the_broker_allows():
    """A 2 s session on Apache Kafka: JoinGroup refused (its `group.min.session.timeout.ms`
    is 6,000 by default, per the broker configuration reference), the worker never joined
    and the replay waited until its timeout."""
    assert session_timeout_s(6000, "aF8lTQ3KRvepzNKeqySoJw") == 6.0  # what Kafka 4 answered DescribeConfigs
    assert session_timeout_s(1000, "x") == 2.0  # a broker allowing less still gets two heartbeats' room
    assert session_timeout_s(None, "tansu_cluster") == 2.0  # Tansu: no configs listed, no least
    assert session_timeout_s(None, "redpanda.1b2c") == 6.0  # says nothing: Kafka's default least
    over = replay_overrides(Namespace("abc"), Path("/d"), 7001, session_s=6.0)
    assert over["session_timeout_s"] == over["rebalance_timeout_s"] == 6.0


def test_namespace_topics_keep_records_of_any_age():
    # Records carry past event times: time retention would let Kafka delete them mid-replay.
    assert topic_configs(by_name("logs.raw")) == {"retention.ms": "-1"}
    assert topic_configs(by_name("incidents.clock")) == {"retention.ms": "-1"}
    assert topic_configs(by_name("signals.books")) == {"cleanup.policy": "compact"}
    assert all(topic_configs(s).get("retention.ms", "-1") == "-1" for s in TOPICS)


def test_file_lines_keep_their_own_time_and_continuations_the_last_one():
    lines = [json.dumps({"ts": T0 + 5, "service": "api", "level": "error", "msg": "boom"}).encode(),
             b"2026-05-28 20:27:09,000 ERROR [pay] failed", b"Traceback (most recent call last):", b""]
    recs = list(file_records(lines, ExtractConfig(), service=None))
    assert [r.at for r in recs] == [T0 + 5, T0 + 9, T0 + 9]
    assert recs[0].key == b"api"


def test_end_tick_closes_the_last_window_and_no_later_one():
    # last line 20:27:30 -> its window ends 20:28:00; closed once the watermark passes it + lateness 5 s
    assert end_tick(T0 + 30, ExtractConfig()) == T0 + 60 + 5 + 1


def _inc(iid, service, start, resolved, pages=1):
    return {"incident_id": iid, "service": service, "window_start": start, "opened_at": start + 60,
            "resolved_at": resolved, "pages": [{"kind": "alert", "at": start + 60}] * pages, "tickets": []}


def _report(*incidents):
    return {"incidents": list(incidents), "notifications": [], "events": [{"at": T0 + 3600}]}


def test_backtest_lists_only_what_changed():
    current = _report(_inc("a-1", "pay", T0, T0 + 600), _inc("b-1", "search", T0, T0 + 300))
    same = compare(current, current)
    assert same == {"incidents": [], "services": [], "resolved_at": []}
    candidate = _report(_inc("a-1", "pay", T0, T0 + 420))  # resolves 3 minutes sooner; search ignored
    diff = compare(current, candidate)
    assert diff["incidents"] == [{"change": "missed", "service": "search", "current": ["b-1"], "candidate": []}]
    assert diff["resolved_at"] == [{"incident": "a-1", "current": T0 + 600, "candidate": T0 + 420}]


def test_docker_compose_lines_are_keyed_and_timed_as_extraction_reads_them():
    # `docker compose logs` of a pino service: the compose name is the service, the JSON's time the time
    lines = [b'search-1    | {"level":50,"time":1780000025000,"pid":17,"msg":"upstream timeout"}',
             b'payments-1  | 2026-05-28 20:27:09,000 ERROR [payments.api] failed',
             b"payments-1  | Traceback (most recent call last):"]
    recs = list(file_records(lines, ExtractConfig()))
    assert [(r.key, r.at) for r in recs] == [(b"search-1", T0 + 5), (b"payments-1", T0 + 9), (b"payments-1", T0 + 9)]


def test_teardown_takes_only_the_namespace_topics_and_groups():
    from streams.replay.teardown import namespace_groups, namespace_topics

    ns = Namespace("20261202T050000")
    on_broker = ["logs.raw", "prod.logs.raw", "replay.20261202T050000.logs.raw",
                 "replay.20261202T050000.incidents.events", "replay.20261202T040000.logs.raw",
                 "logwarden-replay-20261202T050000-incident-states-changelog",
                 "logwarden-replay-20261202T050000-__assignor-__leader", "logwarden-incident-states-changelog"]
    assert namespace_topics(ns, on_broker) == [
        "logwarden-replay-20261202T050000-__assignor-__leader",
        "logwarden-replay-20261202T050000-incident-states-changelog",
        "replay.20261202T050000.incidents.events", "replay.20261202T050000.logs.raw"]
    # Faust's group is the app id; the batch loops' are `<app_id>-extract` and `-windows`.
    assert namespace_groups(ns) == ["logwarden-replay-20261202T050000", "logwarden-replay-20261202T050000-extract",
                                    "logwarden-replay-20261202T050000-windows"]


def test_the_console_agent_the_replay_worker_leaves_out_is_the_one_the_app_registers(tmp_path):
    # The replay worker drops it by name (streams/replay/worker.py): were it renamed, every
    # window would be counted twice as taken and a replay could be called done too early.
    from streams.app import create_app
    from streams.config import load_config
    from streams.replay.worker import CONSOLE_AGENT

    overrides = replay_overrides(Namespace("abc"), tmp_path, 7001)
    app = create_app(load_config(None, **overrides, broker="127.0.0.1:9"))
    readers = [name for name, agent in app.agents.items()
               if "replay.abc.signals.windows" in agent.channel.topics]
    assert sorted(readers) == sorted([CONSOLE_AGENT, "logwarden.incidents"])
