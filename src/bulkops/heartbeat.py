"""A thread that keeps a running task's heartbeat fresh while its operation works.

Chunk commits alone cannot prove the worker is alive: reading a large workbook, a
slow device or a project's slow rows can run longer than HEARTBEAT_TIMEOUT without
committing anything. The thread writes ``heartbeat_at`` on its own database connection
(Django connections are per thread) in short autocommit UPDATEs fenced like every
worker write, so it can never revive a task its worker lost.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from django.db import DatabaseError, connections

from bulkops import lifecycle
from bulkops.conf import settings
from bulkops.models import BulkTask

logger = logging.getLogger("bulkops")


def interval() -> float:
    """Seconds between beats: a few per HEARTBEAT_TIMEOUT, so one slow UPDATE is no stall."""
    return min(max(float(settings.HEARTBEAT_TIMEOUT) / 4, 0.2), 30.0)


class Heartbeat:
    """``with Heartbeat(task):`` beats until the block ends (or the task is lost)."""

    def __init__(self, task: BulkTask) -> None:
        self.task = task
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        db = self.task._state.db or "default"
        # A second connection cannot see rows the caller's open transaction has not
        # committed (a test case, ATOMIC_REQUESTS around an inline job): no thread then;
        # the run's own writes still beat, as they always did.
        if not connections[db].in_atomic_block:
            self._thread = threading.Thread(
                target=self._run, name=f"bulkops-heartbeat-{self.task.pk}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=interval() + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(interval()):
                try:
                    if not lifecycle.beat(self.task):
                        return  # finished, stalled or taken over: nothing to keep alive
                except DatabaseError:
                    # A busy SQLite file or a dropped connection: the next beat retries.
                    logger.warning("bulkops: heartbeat of task %s failed", self.task.pk)
                    connections.close_all()
        finally:
            connections.close_all()  # only this thread's connections
