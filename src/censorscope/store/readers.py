"""One read-only connection shared by a long-lived reader's requests (the dashboard), let
go whenever a writer waits.

Opening DuckDB costs ~20 ms, more than most of the dashboard's queries, so the dashboard
keeps one read-only connection and gives each request a cursor of it. DuckDB lets one
process write a file only while nobody else has it open, so a writer that finds it held
says so with a marker beside the store (`Store._open`); the shared connection is then
closed as soon as its last request is done, and opened again only once the writer is in
(its marker gone), so the writer waits a request's time, not the reader's lifetime. A
connection nobody has used for a second is let go too, and one is renewed after
`max_age` seconds, for writers that say nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from censorscope.store.database import WAITING, Store

FRESH = 2.0  # seconds a writer's marker counts after its last touch


class SharedReader:
    def __init__(
        self, path: str, max_age: float = 30.0, wait: float = 20.0, idle: float = 1.0
    ) -> None:
        self.path, self.max_age, self.wait, self.idle = path, max_age, wait, idle
        self._marker = Path(path + WAITING)
        self._cond = threading.Condition()
        self._store: Store | None = None
        self._opened = self._used = 0.0
        self._users = 0
        self._closing = False
        self._watcher: threading.Thread | None = None

    def _watch(self) -> None:
        """Between requests too: a connection nobody uses is let go when a writer waits or
        after `idle` seconds, so that a writer never waits for the next request."""
        while True:
            time.sleep(0.05)
            with self._cond:
                if self._store is None:
                    self._watcher = None
                    return
                quiet = time.monotonic() - self._used > self.idle
                if not self._users and (quiet or self._writer_waits()):
                    self._store.close()
                    self._store, self._closing = None, False

    @contextlib.contextmanager
    def store(self) -> Iterator[Store]:
        """A store over a cursor of the shared connection, for one request."""
        cursor = self._acquire()
        try:
            yield Store(self.path, connection=cursor)
        finally:
            with contextlib.suppress(duckdb.Error):
                cursor.close()
            with self._cond:
                self._users -= 1
                self._cond.notify_all()

    def _acquire(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.wait
        with self._cond:
            while True:
                waiting = self._writer_waits()
                old = time.monotonic() - self._opened > self.max_age
                if self._store is not None and (waiting or old or self._closing):
                    self._closing = True
                    if self._users:  # the last request out closes it
                        self._cond.wait(0.05)
                        continue
                    self._store.close()
                    self._store, self._closing = None, False
                if self._store is None:
                    if waiting and time.monotonic() < deadline:
                        self._cond.wait(0.02)  # the writer goes first
                        continue
                    self._store = Store(self.path, read_only=True, wait=self.wait)
                    self._opened = time.monotonic()
                    if self._watcher is None:
                        self._watcher = threading.Thread(target=self._watch, daemon=True)
                        self._watcher.start()
                self._users += 1
                self._used = time.monotonic()
                return self._store.db.cursor()

    def _writer_waits(self) -> bool:
        """A marker a waiting writer touched lately (it does every 0.2 s at most; one left
        by a writer killed while it waited is old and ignored)."""
        try:
            return time.time() - self._marker.stat().st_mtime < FRESH
        except OSError:
            return False

    def close(self) -> None:
        """Let go of the file; the watcher ends with it."""
        with self._cond:
            if self._store is not None:
                self._store.close()
                self._store = None
            watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(5)
