from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core import checks

from bulkops.backends.base import BaseBackend

if TYPE_CHECKING:
    from bulkops.models import BulkTask

if importlib.util.find_spec("django.tasks") is not None:
    from django.tasks import task as _task_decorator
else:  # Django 5.2 with the django-tasks backport
    from django_tasks import task as _task_decorator  # type: ignore[no-redef]


@_task_decorator()
def run_task(task_id: str) -> str | None:
    from bulkops import runner

    return runner.run(task_id)


class DjangoTasksBackend(BaseBackend):
    """Django's tasks framework (``django.tasks``, or ``django_tasks`` on Django 5.2).

    OPTIONS: ``backend`` (alias in TASKS, default "default"), ``queue_name``, ``priority``.
    """

    def _task(self) -> Any:
        overrides: dict[str, Any] = {}
        if "backend" in self.options:
            overrides["backend"] = self.options["backend"]
        if "queue_name" in self.options:
            overrides["queue_name"] = self.options["queue_name"]
        if "priority" in self.options:
            overrides["priority"] = self.options["priority"]
        return run_task.using(**overrides) if overrides else run_task

    def enqueue(self, task: BulkTask) -> str:
        return str(self._task().enqueue(str(task.pk)).id)

    def check(self) -> Iterable[checks.CheckMessage]:
        from django.conf import settings

        if not getattr(settings, "TASKS", None):
            return [
                checks.Error(
                    "DjangoTasksBackend needs a TASKS setting with a backend that runs tasks "
                    "in a worker.",
                    hint="For example TASKS = {'default': {'BACKEND': "
                    "'django_tasks_db.DatabaseBackend'}} and run 'manage.py db_worker'.",
                    id="bulkops.E004",
                )
            ]
        return []
