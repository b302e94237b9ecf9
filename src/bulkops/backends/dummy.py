from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bulkops.backends.base import BaseBackend

if TYPE_CHECKING:
    from bulkops.models import BulkTask


class DummyBackend(BaseBackend):
    """Queues nothing: it records the ids it was given, for tests of a project's views.

    Run a recorded task with ``bulkops.runner.run(task_id)`` when the test wants it to.
    """

    supports_revoke = True
    enqueued: list[Any] = []

    def enqueue(self, task: BulkTask) -> str:
        type(self).enqueued.append(task.pk)
        return f"dummy-{task.pk}"

    def revoke(self, task: BulkTask) -> None:
        if task.pk in type(self).enqueued:
            type(self).enqueued.remove(task.pk)
