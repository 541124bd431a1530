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

    send = sub.add_parser("send-logs", help="produce log lines to logs.raw, keyed by service")
    send.add_argument("file", help="a file of log lines, or - for standard input")
    send.add_argument("--service", help="service name for every line (default: from each line)")

    tail = sub.add_parser("tail", help="print records of a topic as they arrive")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("-n", "--count", type=int, default=0, help="stop after N records")
    tail.add_argument("--timeout", type=float, default=0.0, help="stop after S seconds without records")
    tail.add_argument("--since", help="start at this time: ISO 8601, epoch seconds, or -30m / -2h / -1d")
    tail.add_argument("--until", help="stop at records after this time (same forms); implies stopping at the end")

    inc = sub.add_parser("incidents", help="read incidents from incidents.events")
    inc_sub = inc.add_subparsers(dest="incidents_command", required=True)
    inc_sub.add_parser("list")
    show = inc_sub.add_parser("show")
    show.add_argument("incident_id")

    reg = sub.add_parser("registry", help="read the known-issue registry")
    reg_sub = reg.add_subparsers(dest="registry_command", required=True)
    reg_sub.add_parser("list")

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
    from streams import commands

    if args.command == "up":
        return commands.up(cfg, demo=args.demo, broker_kind=args.broker_kind)
    if args.command == "worker":
        if not cfg.broker:
            raise CliError("no broker configured: set LOGWARDEN_BROKER=host:port (or use `logwarden up`)")
        return commands.run_worker(cfg)
    if args.command == "broker":
        return commands.broker(cfg, args)
    bootstrap = resolve_bootstrap(cfg)
    if args.command == "topics":
        return commands.topics(cfg, bootstrap, args.topics_command)
    if args.command == "send-logs":
        return asyncio.run(commands.send_logs(bootstrap, args.file, service=args.service))
    if args.command == "tail":
        return asyncio.run(commands.tail(bootstrap, args.topic, args.from_beginning, args.count, args.timeout,
                                         since=args.since, until=args.until))
    if args.command == "incidents":
        return asyncio.run(commands.incidents(bootstrap, cfg, args.incidents_command, getattr(args, "incident_id", None)))
    if args.command == "registry":
        return asyncio.run(commands.registry(bootstrap, cfg))
    raise CliError(f"unknown command {args.command}")


def resolve_bootstrap(cfg: Config) -> str:
    """The configured broker, else the embedded one a running `logwarden up` wrote down."""
    if cfg.broker:
        return cfg.broker.removeprefix("kafka://")
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
