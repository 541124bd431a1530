"""`logwarden` command line.

Every failure a user can cause (bad config, unreachable broker, busy port, missing
file) ends as one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from streams.config import Config, ConfigError, load_config
from streams.errors import CliError


__all__ = ["main"]

EXIT_USAGE = 2
EXIT_RUNTIME = 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="logwarden", description="Incident monitor on Kafka-compatible logs.")
    p.add_argument("-c", "--config", help="TOML configuration file (default: $LOGWARDEN_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run everything: embedded broker (unless one is configured), worker, web")
    up.add_argument("--demo", action="store_true", help="play the built-in scenario through the pipeline first")
    up.add_argument("--broker-kind", choices=["tansu", "kafka"], help="which embedded broker to start")

    sub.add_parser("worker", help="run a worker against the configured broker (production, scaling out)")

    topics = sub.add_parser("topics", help="topic administration")
    topics_sub = topics.add_subparsers(dest="topics_command", required=True)
    topics_sub.add_parser("create", help="create every declared topic (idempotent)")
    topics_sub.add_parser("list", help="list the declared topics")

    send = sub.add_parser(
        "send-logs", help="produce log lines to logs.raw, keyed by service",
        description="Produce every non-empty line to logs.raw, keyed by the service the line names (the "
                    "extract stage's rule: extract.service_fields of a JSON line, the syslog app-name or tag, a "
                    "docker compose prefix, logfmt service=/app=, then extract.service_map). A line over "
                    "extract.max_line_bytes goes to dead.letter (reason too_large) and the rest is still sent.")
    send.add_argument("file", help="a file of log lines, or - for standard input")
    send.add_argument("--service", help="service name for every line (default: the service each line names, "
                                        "else 'unknown')")

    tail = sub.add_parser(
        "tail", help="print records of a topic",
        description="Print partition:offset, key and value of each record. From the beginning or --since, "
                    "stop at the end of the topic as it was at start (add -f to keep waiting for new records); "
                    "without either, wait for new records.")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    tail.add_argument("-f", "--follow", action="store_true",
                      help="after the records already there, keep waiting for new ones")
    tail.add_argument("-n", "--count", type=int, default=0, help="stop after N records")
    tail.add_argument("--timeout", type=float, default=0.0, help="stop after S seconds without records")
    tail.add_argument("--since", help="start at this time: ISO 8601, epoch seconds, or relative as in "
                                      "--since=-30m / -2h / -1d (with '=')")
    tail.add_argument("--until", help="stop at records after this time (same forms); implies stopping at the end")

    for name, what in (("replay", "run the whole pipeline over past input in a namespace of its own"),
                       ("backtest", "replay under the current and a candidate configuration, print the difference")):
        rp = sub.add_parser(
            name, help=what,
            description="Replay a time range of the retained logs.raw, alerts.raw, checks.results and approvals "
                        "(or log files) through every stage, in event time, on topics prefixed replay.<id>. with "
                        "their own consumer groups; recorded AI answers are reused by request id. Notifications "
                        "go to the report, not to people (unless --notify). Writes report.md and report.json "
                        "under DATA_DIR/replays/<id>/.")
        rp.add_argument("files", nargs="*", help="log files to replay instead of the topics (any format "
                                                 "the extractor reads)")
        rp.add_argument("--service", help="service of every file line (default: the service each line names)")
        rp.add_argument("--since", help="start of the range (same forms as tail: ISO 8601, epoch, -2h)")
        rp.add_argument("--until", help="end of the range (same forms)")
        rp.add_argument("--json", action="store_true", help="print the report as JSON instead of Markdown")
        rp.add_argument("--keep", action="store_true", help="keep the replay's topics and consumer groups for "
                                                           "inspection (default: deleted once the report is written)")
        if name == "replay":
            rp.add_argument("--notify", action="store_true", help="send notifications through the configured "
                                                                 "channels (default: only into the report)")
        else:
            rp.add_argument("--candidate", "--config-candidate", dest="candidate", required=True,
                            help="the candidate TOML configuration")

    inc = sub.add_parser("incidents", help="read incidents from incidents.events")
    inc_sub = inc.add_subparsers(dest="incidents_command", required=True)
    inc_sub.add_parser("list")
    show = inc_sub.add_parser("show")
    show.add_argument("incident_id")

    reg = sub.add_parser("registry", help="read the known-issue registry")
    reg_sub = reg.add_subparsers(dest="registry_command", required=True)
    reg_sub.add_parser("list")

    checks = sub.add_parser("checks", help="host checks and probes on a host that runs no worker")
    checks_sub = checks.add_subparsers(dest="checks_command", required=True)
    checks_run = checks_sub.add_parser(
        "run", help="run the [checks] host checks and probes, publish to checks.results",
        description="Run the configured host checks (every checks.interval_s) and probes (each on its "
                    "interval_s), publish every result to checks.results keyed by checks.service, print one "
                    "line per result. --once: run everything once and exit 0 (all ok) or 3 (warn or fail).")
    checks_run.add_argument("--once", action="store_true", help="run every check and probe once, then exit")

    for name, help_ in (("approve", "approve a proposed fix"), ("escalate", "escalate instead of running a fix")):
        decide = sub.add_parser(name, help=f"{help_} (ops/APPROVALS.md)",
                                description=f"{help_.capitalize()}: an Approval record on `approvals`, actor "
                                            "cli:$USER; the incident reducer decides what it does.")
        decide.add_argument("approval_id", metavar="APPROVAL_ID", help="<incident id>:fix:<n>")
        decide.add_argument("--reason", default="", required=name == "escalate", help="why (redacted)")
    for name, help_ in (("ack", "acknowledge an incident (on-call is not paged again)"),
                        ("note", "add a note to an incident's timeline"),
                        ("resolve", "resolve an incident by hand"), ("close", "close (archive) an incident")):
        act = sub.add_parser(name, help=help_, description=f"{help_.capitalize()}: an IncidentAction record on "
                                                           "`incidents.actions`, actor cli:$USER.")
        act.add_argument("incident_id", metavar="INCIDENT_ID")
        act.add_argument("--text", default="", required=name == "note", help="the note, or why (redacted)")

    conf = sub.add_parser("config", help="the configuration in effect, pipeline presets (ops/PRESETS.md)")
    conf_sub = conf.add_subparsers(dest="config_command", required=True)
    conf_show = conf_sub.add_parser(
        "show", help="print the stages, AI provider, health report and notify routes in effect, as TOML",
        description="Print what the configuration (file, LOGWARDEN_* variables, preset) resolves to for the "
                    "pipeline: preset, stages, ai.provider, [health], notify routes. No secrets are printed.")
    conf_show.add_argument("--preset", help="as if `preset = NAME` were set (explicit keys still win)")
    conf_sub.add_parser("presets", help="list the pipeline presets")

    broker = sub.add_parser("broker", help="embedded broker tools")
    broker_sub = broker.add_subparsers(dest="broker_command", required=True)
    broker_sub.add_parser("fetch-kafka-jars", help="resolve the Apache Kafka jars with Maven (once)")
    run = broker_sub.add_parser("run", help="run an embedded broker in the foreground")
    run.add_argument("--kind", choices=["tansu", "kafka"], default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command not in ("up", "worker"):
        # Client commands explain failures themselves, in one line.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        cfg = load_config(args.config)
        return _dispatch(args, cfg)
    except ConfigError as exc:
        print(f"logwarden: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as exc:
        print(f"logwarden: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `logwarden tail X | head`: the reader left, not an error
        sys.stderr.close()
        return 0


def _dispatch(args: argparse.Namespace, cfg: Config) -> int:
    from streams.kafka import BrokerUnreachable, TopicMismatch, UnknownTopic

    try:
        return _run(args, cfg)
    except (BrokerUnreachable, TopicMismatch, UnknownTopic) as exc:
        raise CliError(str(exc)) from None


def _run(args: argparse.Namespace, cfg: Config) -> int:
    from streams import produce, reading, worker

    if args.command == "up":
        return worker.up(cfg, demo=args.demo, broker_kind=args.broker_kind)
    if args.command == "worker":
        if not cfg.broker:
            raise CliError("no broker configured: set LOGWARDEN_BROKER=host:port (or use `logwarden up`)")
        return worker.run_worker(cfg)
    if args.command == "broker":
        return worker.broker(cfg, args)
    if args.command == "config":
        return _config(args, cfg)
    bootstrap = resolve_bootstrap(cfg)
    if args.command == "topics":
        return worker.topics(cfg, bootstrap, args.topics_command)
    if args.command == "send-logs":
        return asyncio.run(produce.send_logs(bootstrap, args.file, cfg.extract, service=args.service))
    if args.command in ("replay", "backtest"):
        from streams.replay.cli import backtest, replay

        return (replay if args.command == "replay" else backtest)(args, cfg, bootstrap)
    if args.command == "tail":
        return asyncio.run(reading.tail(bootstrap, args.topic, args.from_beginning, args.count, args.timeout,
                                        since=args.since, until=args.until, follow=args.follow))
    if args.command == "incidents":
        return asyncio.run(reading.incidents(bootstrap, args.incidents_command, getattr(args, "incident_id", None)))
    if args.command == "checks":
        from streams.checks_cmd import run_checks

        return asyncio.run(run_checks(bootstrap, cfg.checks, once=args.once))
    if args.command == "registry":
        return asyncio.run(reading.registry(bootstrap))
    if args.command in ("approve", "escalate", "ack", "note", "resolve", "close"):
        from streams.approve_cmd import run_decision

        target = getattr(args, "approval_id", None) or args.incident_id
        words = getattr(args, "reason", None) or getattr(args, "text", "")
        return asyncio.run(run_decision(bootstrap, args.command, target, words, topic_prefix=cfg.topic_prefix))
    raise CliError(f"unknown command {args.command}")


def _config(args: argparse.Namespace, cfg: Config) -> int:
    from streams.presets import PRESETS

    if args.config_command == "presets":
        for preset in PRESETS.values():
            print(f"{preset.name:<16} {preset.runs}\n{'':<16} {preset.summary}")
        return 0
    if args.preset:
        cfg = load_config(args.config, preset=args.preset)
    runs = f"  # {PRESETS[cfg.preset].runs}" if cfg.preset else ""
    lines = [f"preset = {json.dumps(cfg.preset)}{runs}", f"stages = {json.dumps(list(cfg.stages))}", "",
             "[ai]", f"provider = {json.dumps(cfg.ai.provider)}", "", "[health]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in cfg.health.model_dump(mode="json").items()]
    lines += ["", "[notify]", f"fallback_channels = {json.dumps(cfg.notify.fallback_channels)}",
              f"# configured channels: {', '.join(cfg.notify.configured_channels())}"]
    for rule in cfg.notify.routes:
        lines += ["", "[[notify.routes]]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in rule.model_dump(mode="json").items() if v or k == "channels"]
    print("\n".join(lines))
    return 0


def resolve_bootstrap(cfg: Config) -> str:
    """The configured broker, else the embedded one a running `logwarden up` wrote down."""
    if cfg.broker:
        from streams.kafka.client import bootstrap_of

        return bootstrap_of(cfg.broker)
    state = Path(cfg.data_dir) / "broker.json"
    try:
        info = json.loads(state.read_text())
        return info["bootstrap"]
    except (OSError, ValueError, KeyError):
        raise CliError(
            "no broker configured and no running `logwarden up` found: "
            "set LOGWARDEN_BROKER=host:port or start `logwarden up`"
        ) from None


if __name__ == "__main__":
    raise SystemExit(main())
