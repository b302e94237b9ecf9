from __future__ import annotations

from typing import TYPE_CHECKING

from bulkops.backends.base import BaseBackend

if TYPE_CHECKING:
    from bulkops.models import BulkTask


class ImmediateBackend(BaseBackend):
    """Runs the task in the calling process as soon as its transaction commits.

    For tests, demos and scripts: the request waits for the job. A failure is recorded
    on the task (status and message) and logged; it is not raised into the caller.
    """

    def enqueue(self, task: BulkTask) -> str:
        from bulkops import runner

        runner.run_in_process(task.pk)
        return ""
