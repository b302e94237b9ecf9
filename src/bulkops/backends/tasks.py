"""Django's tasks framework: ``django.tasks`` on Django 6, the django-tasks backport on 5.2.

Nothing here touches the tasks framework at import time. Declaring a task validates it
against its TASKS backend, and importing ``django.tasks`` registers Django's own check,
which raises when a TASKS backend library is missing; either would make every
``manage.py`` command crash instead of ``check`` saying what to install. So the task is
declared on first use (``run_task`` below, a module attribute a worker imports by path)
and ``check()`` reads the TASKS setting itself.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from bulkops.backends.base import BaseBackend, missing_app, missing_library

if TYPE_CHECKING:
    from bulkops.models import BulkTask

NAME = "DjangoTasksBackend"
# The backport's default, and Django 6's, when there is no TASKS setting.
_IMMEDIATE = "ImmediateBackend"
_DUMMY = "DummyBackend"
# Libraries that provide a TASKS backend, and how to install them.
_PROVIDERS = {
    "django_tasks_db": ("django-tasks-db", "pip install 'django-bulkops[tasks]'"),
    "django_tasks": ("django-tasks", "pip install 'django-bulkops[tasks]'"),
}


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent missing, or a module blocked in sys.modules
        return False


def framework() -> ModuleType:
    """``django.tasks``, or the ``django_tasks`` backport where Django has none."""
    if _available("django.tasks"):
        return importlib.import_module("django.tasks")
    return importlib.import_module("django_tasks")


def _run(task_id: str) -> str | None:
    from bulkops import runner

    return runner.run(task_id)


# The task's import path is its function's module and qualified name: a worker imports
# ``bulkops.backends.tasks.run_task`` and gets the task from __getattr__ below.
_run.__name__ = _run.__qualname__ = "run_task"
_declared: dict[str, Any] = {}


def _options() -> dict[str, Any]:
    from bulkops.conf import settings as bulkops_settings

    return dict(bulkops_settings.OPTIONS) if NAME in bulkops_settings.BACKEND else {}


def __getattr__(name: str) -> Any:
    if name != "run_task":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    alias = _options().get("backend", "default")
    if alias not in _declared:
        _declared[alias] = framework().task(backend=alias)(_run)
    return _declared[alias]


class DjangoTasksBackend(BaseBackend):
    """Django's tasks framework (``django.tasks``, or ``django_tasks`` on Django 5.2).

    OPTIONS: ``backend`` (alias in TASKS, default "default"), ``queue_name``, ``priority``.
    """

    def _task(self) -> Any:
        from bulkops.backends import tasks

        overrides = {
            key: self.options[key]
            for key in ("backend", "queue_name", "priority")
            if key in self.options
        }
        return tasks.run_task.using(**overrides) if overrides else tasks.run_task

    def enqueue(self, task: BulkTask) -> str:
        return str(self._task().enqueue(str(task.pk)).id)

    def check(self) -> Iterable[checks.CheckMessage]:
        if not _available("django.tasks") and not _available("django_tasks"):
            # Django 5.2 without the backport.
            return [missing_library(NAME, "django_tasks", "tasks")]
        alias = self.options.get("backend", "default")
        configured = getattr(settings, "TASKS", None)
        if not configured:
            return [_runs_in_request(f"there is no TASKS setting, so its default {_IMMEDIATE}")]
        if alias not in configured:
            return [
                checks.Error(
                    f"{NAME} uses the TASKS backend {alias!r}, which TASKS does not define.",
                    hint=f"Add {alias!r} to TASKS, or set BULKOPS['OPTIONS']['backend'] to "
                    f"one of {', '.join(map(repr, configured))}.",
                    id="bulkops.E004",
                )
            ]
        return list(self._check_alias(alias, configured[alias]))

    def _check_alias(self, alias: str, config: dict[str, Any]) -> Iterable[checks.CheckMessage]:
        path = str(config.get("BACKEND", ""))
        try:
            backend_class = import_string(path)
        except ImportError as exc:
            module = (getattr(exc, "name", None) or path).split(".")[0]
            package, hint = _PROVIDERS.get(
                module, (module, f"pip install the package that provides '{module}'")
            )
            yield checks.Error(
                f"TASKS[{alias!r}] names {path!r}, which cannot be imported: the "
                f"'{package}' library is not installed.",
                hint=hint,
                id="bulkops.E002",
            )
            return
        if backend_class.__name__ == _IMMEDIATE:
            yield _runs_in_request(f"TASKS[{alias!r}] is {_IMMEDIATE}, which")
        elif backend_class.__name__ == _DUMMY:
            yield checks.Warning(
                f"{NAME}: TASKS[{alias!r}] is {_DUMMY}, which stores jobs and never runs them.",
                hint="Use a backend with a worker, for example django_tasks_db.DatabaseBackend.",
                id="bulkops.W004",
            )
        if path.startswith("django_tasks_db.") and not apps.is_installed("django_tasks_db"):
            yield missing_app(NAME, "django_tasks_db")
        queues = config.get("QUEUES")
        queue = self.options.get("queue_name", "default")
        if queues and queue not in queues:
            yield checks.Error(
                f"{NAME} sends jobs to the queue {queue!r}, which TASKS[{alias!r}] does "
                "not list in QUEUES.",
                hint=f"Add {queue!r} to QUEUES or set BULKOPS['OPTIONS']['queue_name'].",
                id="bulkops.E004",
            )


def _runs_in_request(why: str) -> checks.Warning:
    return checks.Warning(
        f"{NAME}: {why} runs every job inside the request that submits it: no progress "
        "bar, and the request waits until the job is done.",
        hint="Configure a TASKS backend with a worker, for example TASKS = {'default': "
        "{'BACKEND': 'django_tasks_db.DatabaseBackend'}} (pip install "
        "'django-bulkops[tasks]', add 'django_tasks_db' to INSTALLED_APPS) and run "
        "'manage.py db_worker'.",
        id="bulkops.W004",
    )
