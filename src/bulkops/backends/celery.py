from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from celery import shared_task
from django.core import checks

from bulkops.backends.base import BaseBackend

if TYPE_CHECKING:
    from bulkops.models import BulkTask

TASK_NAME = "bulkops.run"


# Late acknowledgement: the message is acknowledged only after the run, so a worker
# killed mid-job leaves it to be delivered again, and the runner resumes from the
# checkpoint. A second delivery while the first is still alive is a no-op (claim).
@shared_task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=False)
def run_task(task_id: str) -> str | None:
    from bulkops import runner

    return runner.run(task_id)


class CeleryBackend(BaseBackend):
    """Celery: sends ``bulkops.run`` with the task id.

    OPTIONS: ``queue`` (default: Celery's default queue), ``app`` (dotted path of the
    project's Celery app, default: the current app), and ``apply_async`` keyword
    arguments under ``options``.
    """

    supports_revoke = True
    redelivers_on_worker_loss = True

    def _app(self) -> Any:
        path = self.options.get("app")
        if path:
            from django.utils.module_loading import import_string

            return import_string(path)
        return run_task.app

    def enqueue(self, task: BulkTask) -> str:
        kwargs = dict(self.options.get("options", {}))
        if self.options.get("queue"):
            kwargs["queue"] = self.options["queue"]
        result = self._app().send_task(TASK_NAME, args=[str(task.pk)], **kwargs)
        return str(result.id)

    def revoke(self, task: BulkTask) -> None:
        if task.backend_id:
            self._app().control.revoke(task.backend_id)

    def check(self) -> Iterable[checks.CheckMessage]:
        if importlib.util.find_spec("redis") is None and importlib.util.find_spec("amqp") is None:
            return [
                checks.Warning(
                    "CeleryBackend found neither the 'redis' nor the 'amqp' transport library.",
                    id="bulkops.W002",
                )
            ]
        return []


# What Celery beat calls for a schedule (bulkops.schedules): it starts one ordinary task.
@shared_task(name="bulkops.scheduled", ignore_result=False)
def run_scheduled(operation: str, **kwargs: Any) -> str:
    from bulkops.schedules import run_scheduled

    return run_scheduled(operation, **kwargs)
