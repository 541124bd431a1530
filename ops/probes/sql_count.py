#!/usr/bin/env python3
"""Probe: one SQL count (rows waiting in an outbox table, unsent emails, ...).

    command = ["python3", "ops/probes/sql_count.py", "/var/lib/app/app.db",
               "SELECT count(*) FROM outbox WHERE sent_at IS NULL"]

SQLite, opened read-only. For PostgreSQL no script is needed: psql prints the number,
    command = ["psql", "-tAc", "SELECT count(*) FROM outbox WHERE sent_at IS NULL", "service=app"]
Prints the first column of the first row as one number.
"""

import sqlite3
import sys


def main(path: str, query: str) -> None:
    if not query.lstrip().lower().startswith("select"):
        raise SystemExit("only a SELECT is allowed")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(query).fetchone()
    finally:
        conn.close()
    print(float(row[0]) if row and row[0] is not None else 0)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: sql_count.py DB_PATH 'SELECT count(*) ...'")
    main(*sys.argv[1:])
