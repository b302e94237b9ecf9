"""Chunks sized by time: on PostgreSQL and the others so commits stay cheap, on SQLite so
the one writer lock comes free often.

Everywhere but SQLite, a chunk starts at ``CHUNK_SIZE`` rows and, while one takes less
than ``CHUNK_SECONDS``, the next one doubles, up to ``MAX_CHUNK_SIZE``: on a lean table
a 1,000-row chunk applies in a few milliseconds and its COMMIT (a WAL flush) and
checkpoint would cost as much as the work. A slower chunk brings the size back down,
never under ``CHUNK_SIZE``. A job whose chunk size was asked for (``chunk_size`` in its
params, or by the operation) keeps it. Checkpoints and cancel stay per chunk, so a
chunk bounded in time also bounds how long a cancel waits.

SQLite has one writer at a time, and a writer that waits for the lock does not queue:
its busy handler sleeps and retries (after 1, 2, 5 ... then every 100 ms). A worker
that commits a long chunk and opens the next one at once holds the lock almost all the
time, and a web request's retries keep missing the short gaps: measured on this
project's machine, a worker holding 100 ms chunks back to back made every web write
wait out its busy timeout, while 50 ms chunks with a 5 ms pause let it in after 10 ms
at p95 (docs/deployment.md has the figures).

So on SQLite:

- a chunk is as many rows as its transaction applies in ``SQLITE_CHUNK_SECONDS``
  (never more than the chunk size asked for);
- workers take their chunks in turn, through an advisory file lock beside the database
  file, and keep it through ``SQLITE_CHUNK_PAUSE`` after their commit. Three workers
  racing for the lock would otherwise fill every gap one of them leaves, and the web
  request would lose the race to one of them; with the file lock, the database is free
  for the pause after every chunk whatever the number of workers, and the workers wait
  for each other in the kernel, not in SQLite's busy timeout (no "database is locked").
"""

from __future__ import annotations

import os
import time
from typing import IO

from django.db import connections

from bulkops.conf import settings

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: chunks are still sized and paced
    fcntl = None  # type: ignore[assignment]

# The first chunk on SQLite is small, because nothing is known yet about how long a
# row takes; the size then at most doubles per chunk, so one slow guess costs little.
FIRST_ROWS = 50


class Pacer:
    """How many rows the next chunk takes; turns and pauses between chunks on SQLite."""

    def __init__(self, db: str, size: int, *, fixed: bool = False) -> None:
        self.db = db
        self.limit = max(int(size), 1)
        self.floor = 1
        self.seconds = 0.0
        self.pause = 0.0
        self._lock_path = ""
        connection = connections[db]
        if connection.vendor == "sqlite":
            self.seconds = float(settings.SQLITE_CHUNK_SECONDS or 0)
            self.pause = float(settings.SQLITE_CHUNK_PAUSE or 0)
            # Turns only matter when there is a pause to give away.
            if self.pause:
                self._lock_path = _lock_path(str(connection.settings_dict["NAME"]))
            self.rows = min(FIRST_ROWS, self.limit) if self.seconds else self.limit
        else:
            self.rows = self.floor = self.limit
            if not fixed:
                self.seconds = float(settings.CHUNK_SECONDS or 0)
                self.limit = max(int(settings.MAX_CHUNK_SIZE or 0), self.limit)
        self._started: float | None = None
        self._lock: IO[bytes] | None = None

    def size(self) -> int:
        return self.rows

    def begin(self) -> None:
        """Before the chunk's transaction: wait for this worker's turn."""
        if self._lock_path and fcntl is not None and not self._nested():
            handle = open(self._lock_path, "ab")  # noqa: SIM115 - closed in end()
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._lock = handle
        self._started = time.perf_counter()

    def end(self, rows: int) -> None:
        """After the chunk's commit or rollback: size the next chunk, pause, give the turn."""
        try:
            if self._started is not None and self.seconds and rows:
                held = time.perf_counter() - self._started
                fitting = int(self.seconds * rows / held) if held > 0 else self.limit
                self.rows = max(self.floor, min(fitting, self.rows * 2, self.limit))
            # Inside an outer transaction (the all-or-nothing import) the database stays
            # locked whatever the chunk does, and a pause would only hold it longer.
            if self.pause and not self._nested():
                time.sleep(self.pause)
        finally:
            self._started = None
            if self._lock is not None:
                self._lock.close()  # closing the file releases the flock
                self._lock = None

    def _nested(self) -> bool:
        return connections[self.db].in_atomic_block


def _lock_path(name: str) -> str:
    """A file beside the database; none for in-memory databases."""
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return ""
    return f"{os.fspath(name)}-bulkops.lock"
