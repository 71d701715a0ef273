"""A new SQLite file with another connection writing to it: what opening it must wait for."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def new_file_being_written(path: Path) -> Iterator[sqlite3.Connection]:
    """A new SQLite file (rollback journal) with a write transaction open on it."""
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    try:
        yield writer
    finally:
        if writer.in_transaction:
            writer.execute("ROLLBACK")
        writer.close()


def open_while_written(path: Path, open_file: Callable[[], T], *, commit_after: float = 0.3) -> T:
    """`open_file()` while another connection writes to the new file at `path`.

    The writer commits after `commit_after` seconds; opening must wait for
    it (SQLite refuses to switch such a file to WAL at once, without its
    busy handler).
    """
    with new_file_being_written(path) as writer:
        commit = threading.Timer(commit_after, lambda: writer.execute("COMMIT"))
        commit.start()
        try:
            return open_file()
        finally:
            commit.join()
