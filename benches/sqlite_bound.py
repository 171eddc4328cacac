#!/usr/bin/env python3
"""What SQLite alone allows for batch creates on this machine: the rows hubcalls writes per
created call (a `calls` row and a `call_history` row, with their indexes, in WAL mode with
synchronous=NORMAL), 100 calls per transaction, inserted by Python's sqlite3 `executemany`
(a C loop). No JSON, no validation, no search index, no HTTP: an upper bound for
`batch create of 100` in the load benchmark. Row sizes are those of the load benchmark's
calls as stored (properties ~718 bytes, first history ~865 bytes).

    python3 benches/sqlite_bound.py [calls]
"""

import os
import sqlite3
import sys
import tempfile
import time

SCHEMA = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY, portal INTEGER NOT NULL, archived INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, archived_at INTEGER,
    properties TEXT NOT NULL);
CREATE INDEX calls_by_portal ON calls (portal, archived, id);
CREATE TABLE call_history (id INTEGER PRIMARY KEY, call_id INTEGER NOT NULL, changes TEXT NOT NULL);
CREATE INDEX call_history_by_call ON call_history (call_id, id);
"""


def run(calls, with_history):
    with tempfile.TemporaryDirectory() as directory:
        db = sqlite3.connect(os.path.join(directory, "bound.sqlite3"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        properties = "p" * 718
        history = "h" * 865
        started = time.perf_counter()
        for batch in range(calls // 100):
            ids = range(10_000_000_001 + batch * 100, 10_000_000_001 + (batch + 1) * 100)
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO calls VALUES (?, 1, 0, 0, 0, NULL, ?)",
                [(i, properties) for i in ids],
            )
            if with_history:
                db.executemany(
                    "INSERT INTO call_history (call_id, changes) VALUES (?, ?)",
                    [(i, history) for i in ids],
                )
            db.execute("COMMIT")
        elapsed = time.perf_counter() - started
        db.close()
    return calls / elapsed


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with_history = run(calls, True)
    without = run(calls, False)
    print(f"{calls} calls, 100 per transaction:")
    print(f"  calls row + history row: {with_history:,.0f} calls/s")
    print(f"  calls row only:          {without:,.0f} calls/s")


if __name__ == "__main__":
    main()
