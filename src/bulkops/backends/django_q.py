from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.apps import apps
from django.core import checks
from django.utils.module_loading import import_string

from bulkops.backends.base import BaseBackend, missing_app, missing_library

if TYPE_CHECKING:
    from bulkops.models import BulkTask


class DjangoQBackend(BaseBackend):
    """django-q2: the task id goes to ``async_task``; a qcluster runs it.

    OPTIONS: ``cluster`` (a named cluster's queue), ``broker`` (dotted path of a django-q2
    broker class, when the cluster uses another broker than this process's Q_CLUSTER),
    ``group``,
    ``timeout`` (seconds a worker may take before django-q2 kills it), and ``q_options``
    passed through.
    """

    redelivers_on_worker_loss = False

    def enqueue(self, task: BulkTask) -> str:
        from django_q.tasks import async_task

        q_options = dict(self.options.get("q_options", {}))
        for name in ("cluster", "group", "timeout"):
            if name in self.options:
                q_options.setdefault(name, self.options[name])
        q_options.setdefault("task_name", f"bulkops {task.operation} {task.pk}")
        if "broker" in self.options:
            broker_class = import_string(self.options["broker"])
            q_options["broker"] = broker_class(list_key=self.options.get("cluster"))
        return str(async_task("bulkops.runner.run", str(task.pk), q_options=q_options))

    def check(self) -> Iterable[checks.CheckMessage]:
        if importlib.util.find_spec("django_q") is None:
            return [missing_library("DjangoQBackend", "django_q", "django-q2")]
        if not apps.is_installed("django_q"):
            return [missing_app("DjangoQBackend", "django_q")]
        return []
