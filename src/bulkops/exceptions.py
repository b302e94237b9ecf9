from __future__ import annotations

from typing import Any

from bulkops.texts import Text


class BulkOpsError(Exception):
    """Base class for errors raised by bulkops."""

    @property
    def text(self) -> Text | None:
        """The message as a message id (bulkops.texts), when it was raised with one."""
        return self.args[0] if self.args and isinstance(self.args[0], Text) else None


class UnknownOperation(BulkOpsError, LookupError):
    pass


class TaskCancelled(BulkOpsError):
    """Raised inside a run when the user asked to cancel; the runner ends the task cancelled."""


class TaskTimeLimitExceeded(BulkOpsError):
    """Raised inside a run when the task's time limit has passed; the task ends failed."""


class TaskConflict(BulkOpsError):
    """Another unfinished task already works on the same rows.

    ``task`` is that task when it could be read (the user may not be allowed to see it).
    """

    def __init__(self, message: Text | str, *, task: Any = None) -> None:
        super().__init__(message)
        self.task = task


class NothingSelected(BulkOpsError, ValueError):
    """``submit`` was given a queryset with no rows (a stale form, a selection cleared
    elsewhere); no task is created."""


class TaskLeaseLost(BulkOpsError):
    """This worker no longer holds the task (taken over, retried or marked stalled).

    Raised at the next write; the chunk in progress is rolled back, so the new holder
    can never see a chunk applied twice.
    """


class SelectionUnavailable(BulkOpsError, ValueError):
    """A task's stored selection cannot be read by this version (see docs/upgrading.md).

    Raised when the task's rows are needed; the runner ends the task failed with this
    message, which tells the user to select the rows again and submit a new job.
    """
