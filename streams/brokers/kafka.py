"""Apache Kafka (KRaft, single node) from Maven Central jars on the machine's JDK.

The jars are resolved once with Maven into a cache folder (`python -m
streams.brokers.kafka --fetch-jars`), then the broker runs as `java -cp libs/*
kafka.Kafka`. The data directory is durable: a restart keeps topics, offsets and
changelogs, which is what makes this the reference broker for recovery tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from streams.brokers.base import BrokerError, EmbeddedBroker, free_port

__all__ = ["KAFKA_VERSION", "KafkaBroker", "fetch_jars", "jars_dir"]

KAFKA_VERSION = "3.9.1"
SCALA = "2.13"

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>logwarden</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{SCALA}</artifactId><version>{KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
"""

_LOG4J = """log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
"""


def jars_dir() -> Path:
    home = os.environ.get("LOGWARDEN_KAFKA_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "logwarden" / f"kafka-{KAFKA_VERSION}"
    return base / "libs"


def fetch_jars(quiet: bool = True) -> Path:
    """Resolve the Kafka jars with Maven into the cache (idempotent)."""
    libs = jars_dir()
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        raise BrokerError("Maven (mvn) is needed once to fetch the Kafka jars; install it or use the tansu broker")
    work = libs.parent
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(_POM)
    cmd = ["mvn", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={libs}"]
    if quiet:
        cmd.insert(1, "-q")
    result = subprocess.run(cmd, cwd=work, capture_output=quiet, text=True)
    if result.returncode != 0:
        raise BrokerError(f"mvn could not fetch the Kafka jars:\n{(result.stdout or '')[-2000:]}")
    marker.write_text(KAFKA_VERSION)
    return libs


class KafkaBroker(EmbeddedBroker):
    kind = "kafka"

    def __init__(self, data_dir):
        super().__init__(data_dir)
        self.controller_port = 0
        self.heap = os.environ.get("LOGWARDEN_KAFKA_HEAP", "768m")

    def prepare(self) -> None:
        java = shutil.which("java")
        if java is None:
            raise BrokerError("the kafka broker needs a JDK (java on PATH), version 17 or newer")
        libs = jars_dir()
        if not (libs / ".complete").exists():
            fetch_jars()
        self.controller_port = self.controller_port or free_port()
        logs_dir = self.data_dir / "data"
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(logs_dir),
            "num.partitions": "4",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "log.retention.check.interval.ms": "60000",
            "message.max.bytes": str(16 * 1024 * 1024),
        }
        (self.data_dir / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.data_dir / "log4j.properties").write_text(_LOG4J)
        if not (logs_dir / "meta.properties").exists():
            cluster_id = _cluster_id()
            result = subprocess.run(
                self._java("kafka.tools.StorageTool") + ["format", "-t", cluster_id, "-c", "server.properties"],
                cwd=self.data_dir, capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise BrokerError(f"kafka storage format failed: {result.stdout}{result.stderr}"[-2000:])

    def _java(self, main: str) -> list[str]:
        return [
            "java", f"-Xmx{self.heap}", "-Xms128m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
            "-cp", f"{jars_dir()}/*", main,
        ]

    def command(self) -> list[str]:
        return self._java("kafka.Kafka") + ["server.properties"]


def _cluster_id() -> str:
    # Kafka wants a base64url-encoded 16-byte UUID without padding.
    import base64

    # Like Kafka's own Uuid.randomUuid: never an id that starts with "-", which the
    # storage tool's argument parser would read as an option (1 start in 64 failed).
    while True:
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster.startswith("-"):
            return cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.brokers.kafka")
    parser.add_argument("--fetch-jars", action="store_true", help="resolve the Kafka jars into the cache")
    args = parser.parse_args(argv)
    if args.fetch_jars:
        try:
            print(fetch_jars(quiet=True))
        except BrokerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
