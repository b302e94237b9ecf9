"""``manage.py check`` for every django.tasks misconfiguration (DjangoTasksBackend).

Runs on each Django of the support table (6.0 and 6.1 use ``django.tasks``, 5.2 the
backport). A library that is really missing is covered by tests/test_packaging.py, which
runs ``manage.py check`` in a virtual environment without the extras.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import django
import pytest

from bulkops.checks import check_settings

BACKEND = "bulkops.backends.tasks.DjangoTasksBackend"
IMMEDIATE = (
    "django.tasks.backends.immediate.ImmediateBackend"
    if django.VERSION >= (6, 0)
    else "django_tasks.backends.immediate.ImmediateBackend"
)
DUMMY = IMMEDIATE.replace("immediate.ImmediateBackend", "dummy.DummyBackend")


def messages(settings: Any, **options: Any) -> list[tuple[str, str, str]]:
    settings.BULKOPS = {"BACKEND": BACKEND, "OPTIONS": options}
    return [(str(m.id), m.msg, m.hint or "") for m in check_settings()]


def test_a_worker_backend_passes(settings: Any) -> None:
    assert messages(settings) == []  # tests/settings.py: django_tasks_db.DatabaseBackend


def test_no_tasks_setting_warns_that_jobs_run_in_the_request(settings: Any) -> None:
    del settings.TASKS
    [(check_id, msg, hint)] = messages(settings)
    assert check_id == "bulkops.W004"
    assert "no TASKS setting" in msg and "inside the request" in msg
    assert "pip install 'django-bulkops[tasks]'" in hint


@pytest.mark.parametrize(("path", "words"), [(IMMEDIATE, "inside the request"), (DUMMY, "never")])
def test_a_backend_without_a_worker_warns(settings: Any, path: str, words: str) -> None:
    settings.TASKS = {"default": {"BACKEND": path}}
    [(check_id, msg, _)] = messages(settings)
    assert check_id == "bulkops.W004"
    assert words in msg


def test_a_missing_backend_library_is_an_error_with_the_pip_extra(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if django-tasks-db were not installed: importing it fails.
    monkeypatch.setitem(sys.modules, "django_tasks_db", None)
    [(check_id, msg, hint)] = messages(settings)
    assert check_id == "bulkops.E002"
    assert "'django-tasks-db' library is not installed" in msg
    assert hint == "pip install 'django-bulkops[tasks]'"


def test_an_unknown_backend_library_names_the_module(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "acme_queue.Backend"}}
    [(check_id, msg, hint)] = messages(settings)
    assert check_id == "bulkops.E002"
    assert "'acme_queue'" in msg and "'acme_queue'" in hint


def test_no_tasks_framework_at_all_asks_for_the_backport(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Django 5.2 without the django-tasks backport.
    monkeypatch.setitem(sys.modules, "django.tasks", None)
    monkeypatch.setitem(sys.modules, "django_tasks", None)
    [(check_id, msg, hint)] = messages(settings)
    assert check_id == "bulkops.E002"
    assert "'django_tasks'" in msg
    assert hint == "pip install 'django-bulkops[tasks]'"


def test_an_alias_or_queue_tasks_does_not_define_is_an_error(settings: Any) -> None:
    [(check_id, msg, _)] = messages(settings, backend="bulk")
    assert (check_id, "'bulk'" in msg) == ("bulkops.E004", True)
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    [(check_id, msg, _)] = messages(settings, queue_name="bulk")
    assert (check_id, "'bulk'" in msg) == ("bulkops.E004", True)


def test_the_database_backend_needs_its_app(settings: Any) -> None:
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "django_tasks_db"]
    assert [m[0] for m in messages(settings)] == ["bulkops.E003"]


def test_the_module_declares_no_task_at_import(settings: Any) -> None:
    # Declaring the task validates it against TASKS: at import, a missing library would
    # crash every manage.py command (InvalidTaskBackend). It is declared on first use.
    import bulkops.backends.tasks as module

    settings.TASKS = {"default": {"BACKEND": "acme_queue.Backend"}}
    settings.BULKOPS = {"BACKEND": BACKEND}
    importlib.reload(module)  # what app start-up does; raised before
    assert "run_task" not in vars(module)
    assert [m.id for m in check_settings()] == ["bulkops.E002"]


def test_a_job_runs_through_the_tasks_framework(
    settings: Any, db: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bulkops
    import bulkops.backends.tasks as module
    from tests.testapp.models import Item

    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    settings.BULKOPS = {"BACKEND": BACKEND, "SYNC_THRESHOLD": 0}
    monkeypatch.setattr(module, "_declared", {})
    Item.objects.bulk_create(Item(name=f"i{n}", value=n) for n in range(3))
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit("delete", queryset=Item.objects.all())
    task.refresh_from_db()
    assert (task.status, task.succeeded_count) == ("succeeded", 3)
    assert module.run_task.module_path == "bulkops.backends.tasks.run_task"
