"""One end-to-end job on every backend, each with its real worker process."""

from __future__ import annotations

import time
import warnings
from typing import Any

import pytest
from django.test import override_settings

import bulkops
from bulkops.models import BulkTask
from tests.testapp.models import Item

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BACKENDS = [
    "immediate",
    "celery-redis",
    "celery-rabbitmq",
    "django-q-orm",
    "django-q-redis",
    "django-tasks",
]
ROWS = 20_000


def run_and_watch(
    workers: Any, kind: str, submit: Any, timeout: float = 180
) -> tuple[BulkTask, list[int]]:
    """Submit through ``kind``'s backend and record ``processed`` as a poller would.

    A worker process that dies while the job waits is restarted once, as a supervisor
    would, and named in the failure if the job still does not finish.
    """
    config = workers.get(kind)
    settings = {"BACKEND": config["BACKEND"], "OPTIONS": config["OPTIONS"], "SYNC_THRESHOLD": 0}
    with override_settings(BULKOPS=settings):
        task = submit()
    seen: list[int] = []
    restarted = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task.refresh_from_db()
        seen.append(task.processed)
        if task.is_finished:
            queue_settled(kind, task)
            if restarted:
                warnings.warn(f"{kind}: {restarted}", stacklevel=2)
            return task, seen
        worker = workers.workers.get(kind)
        process = worker.process if worker is not None else None
        if (
            worker is not None
            and process is not None
            and process.poll() is not None
            and not restarted
        ):
            restarted = f"the worker exited ({process.returncode}):\n{worker.log()[-2000:]}"
            workers.restart(kind)
        time.sleep(0.02)
    worker = workers.workers.get(kind)
    state = "no worker process"
    if worker is not None:
        alive = worker.process is not None and worker.process.poll() is None
        state = f"worker alive={alive}; its log ends:\n{worker.log()[-2000:]}"
    raise AssertionError(
        f"task still {task.status} after {timeout} s: {task.message!r}; {state}\n{restarted}"
    )


def queue_settled(kind: str, task: BulkTask) -> None:
    """Wait until the queue has written its own result for the job.

    The runner finishes the task row before the queue records the job's end; the test's
    teardown then empties the tables, and a django-tasks worker whose result row is gone
    under it exits ("Save with update_fields did not affect any rows").
    """
    if kind != "django-tasks" or not task.backend_id:
        return
    from django_tasks_db.models import DBTaskResult

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = DBTaskResult.objects.filter(id=task.backend_id).values_list("status", flat=True)
        if not status or status[0] in ("SUCCESSFUL", "FAILED"):
            return
        time.sleep(0.05)


@pytest.mark.parametrize("kind", BACKENDS)
def test_update_20000_rows_runs_to_completion_with_rising_counts(workers: Any, kind: str) -> None:
    Item.objects.bulk_create(Item(name=f"item {i}", value=0) for i in range(ROWS))

    task, seen = run_and_watch(
        workers,
        kind,
        lambda: bulkops.submit(
            "update",
            queryset=Item.objects.all(),
            params={"values": {"value": "7"}, "chunk_size": 500},
        ),
    )

    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert (task.total, task.processed, task.succeeded_count) == (ROWS, ROWS, ROWS)
    assert (task.failed_count, task.skipped_count) == (0, 0)
    assert Item.objects.filter(value=7).count() == ROWS
    assert seen == sorted(seen), "processed must never go backwards"
    if kind != "immediate":
        # A poller saw the job part-way, not only before and after.
        assert any(0 < n < ROWS for n in seen), seen
        assert task.backend_id
    assert task.attempts == 1
    assert task.started_at and task.finished_at and task.started_at <= task.finished_at


@pytest.mark.parametrize("kind", [k for k in BACKENDS if k != "immediate"])
def test_failing_job_is_failed_on_the_task_and_in_the_queue(workers: Any, kind: str) -> None:
    Item.objects.bulk_create(Item(name=f"item {i}") for i in range(50))

    task, _ = run_and_watch(
        workers, kind, lambda: bulkops.submit("tests.explode", queryset=Item.objects.all())
    )

    assert task.status == BulkTask.Status.FAILED
    assert task.message == "RuntimeError: the disk is full"
    # The chunk committed before the failure stays committed, and the counts say so.
    assert Item.objects.filter(value=-1).count() == 10
    assert task.processed == 10
    assert queue_recorded_failure(kind, task), "the queue must record the failure too"


def queue_recorded_failure(kind: str, task: BulkTask) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if kind.startswith("celery"):
            from celery.result import AsyncResult

            from tests.celery_app import redis_app

            if AsyncResult(task.backend_id, app=redis_app).state == "FAILURE":
                return True
        elif kind.startswith("django-q"):
            from django_q.models import Failure

            if Failure.objects.filter(id=task.backend_id).exists():
                return True
        elif kind == "django-tasks":
            from django_tasks_db.models import DBTaskResult

            if DBTaskResult.objects.filter(id=task.backend_id, status="FAILED").exists():
                return True
        time.sleep(0.2)
    return False
