"""Opening benchq's SQLite files (the embedded store, the response cache) in WAL mode.

Several processes open these files at once: `benchq run`'s workers and its
producer, and the store writers of a fleet that shares one file.
"""

from __future__ import annotations

import sqlite3

import tenacity


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


def use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting while another connection writes, up to its busy timeout.

    Switching the journal mode needs the file to itself, and SQLite refuses
    it at once, without its busy handler (waiting could deadlock), while
    another connection holds a write transaction: as when several processes
    open a new file together and one of them is creating its tables. A file
    in WAL mode already (every file after its first open) is only read
    here, which waits as any read does. Past the connection's busy timeout
    (`sqlite3.connect(timeout=...)`) the last `sqlite3.OperationalError` is
    raised.
    """
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0] / 1000.0
    for attempt in tenacity.Retrying(
        retry=tenacity.retry_if_exception(_locked),
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_random(0.01, 0.1),
        reraise=True,
    ):
        with attempt:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
