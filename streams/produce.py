"""`logwarden send-logs`: produce the lines of a file (or stdin) to `logs.raw`.

Each line is keyed by the service it names, found by the one shared rule
(`agents.service_name`), so it lands on the partition of its service just as if a
shipper had sent it. A line too large for extraction goes to `dead.letter` with the
reason instead, and the rest of the file is still sent.

Never drops a line silently: every line is acknowledged by the broker on `logs.raw` or
on `dead.letter`, or the command fails saying how many lines were sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from typing import IO, Iterator

from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from agents.extract.config import ExtractConfig
from agents.service_name import service_of_line
from schemas.records import DeadLetter, encode
from streams.errors import CliError
from streams.kafka import client
from streams.topology import dead_letter_of

__all__ = ["key_of", "send_logs", "too_large_letter"]

TOPIC = "logs.raw"
DEAD_LETTER_TOPIC = "dead.letter"
BATCH_LINES = 5000


def key_of(line: bytes, extract: ExtractConfig, service: str | None = None) -> bytes:
    """The record key of a line: `--service` when given, else the service the line names."""
    if service:
        return service.encode()
    return service_of_line(line, None, extract.service_fields, extract.service_map).encode()


def too_large_letter(line: bytes, key: bytes, limit: int, now: float) -> DeadLetter:
    """The dead letter of a line never written to logs.raw (so no partition or offset)."""
    letter = dead_letter_of(TOPIC, -1, -1, key, line, stage="send-logs", reason="too_large",
                            error=f"line of {len(line)} bytes is over the limit of {limit} bytes")
    return letter.model_copy(update={"at": now})


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of every non-empty line."""
    for number, raw in enumerate(stream, 1):
        line = raw.rstrip(b"\r\n")
        if line:
            yield number, line


class _Progress:
    """A progress bar on stderr for large inputs (bytes of the file read so far)."""

    def __init__(self, total: int, out: IO[str]):
        self.total, self.out, self.start, self.last = total, out, time.monotonic(), 0.0
        self.enabled = total > 1_000_000
        self.drawn = False

    def update(self, done: int, lines: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.25):
            return
        self.last = now
        frac = min(1.0, done / self.total) if self.total else 1.0
        bar = "#" * int(frac * 30)
        rate = lines / max(now - self.start, 1e-6)
        self.out.write(f"\r[{bar:<30}] {frac:6.1%} {lines:,} lines {rate:,.0f} lines/s")
        self.drawn = not final
        if final:
            self.out.write("\n")
        self.out.flush()

    def warn(self, text: str) -> None:
        """One line of its own, below the bar (which is drawn again on the next update)."""
        if self.drawn:
            self.out.write("\n")
            self.drawn = False
        self.out.write(f"logwarden: {text}\n")
        self.out.flush()


def _open(file: str) -> tuple[IO[bytes], int]:
    if file == "-":
        return sys.stdin.buffer, 0
    try:
        return open(file, "rb"), os.path.getsize(file)
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror}") from None


async def send_logs(broker: str, file: str, extract: ExtractConfig, *, service: str | None = None,
                    out: IO[str] = sys.stdout, err: IO[str] = sys.stderr) -> int:
    """Produce every non-empty line to logs.raw keyed by service; wait for every ack.

    A line over the producer's record limit (16 MiB) cannot be written to logs.raw: it
    goes to dead.letter, with one warning on `err`, and the rest of the file is still
    sent. A line under that limit but over `extract.max_line_bytes` is sent as it is, and
    extraction dead-letters it with the worker's own limit (one place decides that).
    """
    stream, total = _open(file)
    producer = await client.started(client.producer(broker, linger_ms=20, max_batch_size=256 * 1024), broker)
    progress = _Progress(total, err)
    sent = rejected = 0
    digest = hashlib.sha256()
    pending: list[asyncio.Future] = []
    try:
        with stream:
            for number, line in _lines(stream):
                key = key_of(line, extract, service)
                limit = client.MAX_RECORD_BYTES
                fut = None
                if len(line) <= limit:
                    try:
                        fut = await producer.send(TOPIC, value=line, key=key)
                    except MessageSizeTooLargeError:
                        limit = client.MAX_RECORD_BYTES
                if fut is None:
                    letter = too_large_letter(line, key, limit, time.time())
                    pending.append(await producer.send(DEAD_LETTER_TOPIC, value=encode(letter), key=TOPIC.encode()))
                    progress.warn(f"line {number} ({_mib(len(line))}) is over {_mib(limit)}: "
                                  f"sent to {DEAD_LETTER_TOPIC} (too_large), not to {TOPIC}")
                    rejected += 1
                    continue
                pending.append(fut)
                digest.update(line)
                digest.update(b"\n")
                sent += 1
                if len(pending) >= BATCH_LINES:
                    await asyncio.gather(*pending)
                    pending.clear()
                    progress.update(stream.tell() if total else 0, sent)
            await asyncio.gather(*pending)
    except KafkaError as exc:
        raise CliError(f"producing to {TOPIC} failed after {sent} lines: {exc.__class__.__name__}") from None
    finally:
        await client.quiet_stop(producer)
    progress.update(total, sent, final=True)
    summary = f"sent {sent} lines to {TOPIC} (sha256 {digest.hexdigest()[:16]})"
    if rejected:
        summary += f"; {rejected} too large, sent to {DEAD_LETTER_TOPIC}"
    print(summary, file=out)
    return 0
