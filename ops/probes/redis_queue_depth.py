#!/usr/bin/env python3
"""Probe: length of a Redis list (a queue's depth), by `LLEN`, with no client library.

    command = ["python3", "ops/probes/redis_queue_depth.py", "redis.internal", "6379", "jobs:pending"]

Prints the length as one number. Exits non-zero (the probe is then `unknown`) when
Redis cannot be reached or answers an error. Set REDIS_PASSWORD in the worker's
environment to AUTH first.
"""

import os
import socket
import sys


def command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def reply(f) -> int:
    line = f.readline().rstrip(b"\r\n")
    if line[:1] == b":":
        return int(line[1:])
    if line[:1] == b"+":
        return 0
    raise SystemExit(f"redis answered {line[:80].decode(errors='replace')}")


def main(host: str, port: str, key: str) -> None:
    with socket.create_connection((host, int(port)), timeout=5) as conn, conn.makefile("rb") as f:
        if os.environ.get("REDIS_PASSWORD"):
            conn.sendall(command("AUTH", os.environ["REDIS_PASSWORD"]))
            reply(f)
        conn.sendall(command("LLEN", key))
        print(reply(f))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: redis_queue_depth.py HOST PORT KEY")
    main(*sys.argv[1:])
