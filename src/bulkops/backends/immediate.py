from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bulkops.backends.base import BaseBackend

if TYPE_CHECKING:
    from bulkops.models import BulkTask

logger = logging.getLogger("bulkops")


class ImmediateBackend(BaseBackend):
    """Runs the task in the calling process as soon as its transaction commits.

    For tests, demos and scripts: the request waits for the job. A failure is recorded
    on the task (status and message) and logged; it is not raised into the caller.
    """

    def enqueue(self, task: BulkTask) -> str:
        from bulkops import runner

        try:
            runner.run(task.pk)
        except Exception:
            logger.exception("bulkops: task %s failed", task.pk)
        return ""
