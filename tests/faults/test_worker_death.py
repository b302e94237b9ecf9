"""SIGKILL real workers in the middle of a job: the end state equals a run with no crash.

Every backend × every job: a bulk update (an increment, so a chunk applied twice shows
as a 2), a bulk delete (a row deleted twice would be counted as skipped) and a
100,000-row import into a table without a unique field (a chunk written twice would
duplicate rows).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db.models import Count

import bulkops
from tests.faults.conftest import assert_dead, holder, wait_finished, wait_processed
from tests.tabular.models_app.models import Ticket
from tests.testapp.models import Item, SlowItem

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BACKENDS = ["celery-rabbitmq", "celery-redis", "django-q-orm", "django-tasks"]
ROWS = 3000
IMPORT_ROWS = 100_000


def start(scenario: Any, kind: str) -> Any:
    if kind == "celery-redis":
        # Redis gives an unacknowledged message to another consumer only after the
        # visibility timeout, shortened here so the test does not wait an hour.
        from tests.celery_app import redis_app

        redis_app.conf.broker_transport_options = {"visibility_timeout": 5}
        return scenario(kind, BULKOPS_VISIBILITY_TIMEOUT="5")
    if kind == "django-q-orm":
        # django-q2 hands a task out again once `retry` seconds pass without an ack;
        # the job's own timeout stays far above it so only the kill interrupts it.
        return scenario(kind, BULKOPS_Q_RETRY="10", BULKOPS_Q_TIMEOUT="300")
    return scenario(kind)


def kill_and_resume(run: Any, task: Any, kind: str, settings: Any) -> Any:
    """Kill the worker holding ``task``, start it again, and let the backend resume it."""
    held_by = holder(task)
    run.worker.kill()
    assert_dead(held_by)
    task.refresh_from_db()
    assert task.status == "running", "a killed worker cannot have finished the task"
    if kind == "django-tasks":
        # The database tasks backend never delivers a task twice: the heartbeat check
        # (bulkops_recover) ends it as stalled, and Retry resumes it.
        settings.BULKOPS = {**settings.BULKOPS, "HEARTBEAT_TIMEOUT": 2}
        time.sleep(2.5)
        call_command("bulkops_recover")
        task.refresh_from_db()
        assert task.status == "failed" and task.message.startswith("Stalled")
        run.restart()
        settings.BULKOPS = {**settings.BULKOPS, **run.config}
        bulkops.retry(task)
    else:
        run.restart()
    return wait_finished(task, timeout=300)


@pytest.mark.parametrize("kind", BACKENDS)
def test_update_killed_mid_job_resumes_and_applies_every_row_once(
    scenario: Any, kind: str, settings: Any
) -> None:
    run = start(scenario, kind)
    Item.objects.bulk_create(Item(name=f"i{i}", value=0) for i in range(ROWS))
    task = run.submit(
        "tests.increment", queryset=Item.objects.all(), params={"chunk_size": 100, "delay": 0.1}
    )
    wait_processed(task, 500)

    task = kill_and_resume(run, task, kind, settings)

    assert task.status == "succeeded", task.message
    assert (task.processed, task.succeeded_count, task.total) == (ROWS, ROWS, ROWS)
    assert task.attempts == 2
    values = dict(Item.objects.values_list("value").annotate(n=Count("pk")))
    assert values == {1: ROWS}, f"rows by value (2 = applied twice, 0 = lost): {values}"


@pytest.mark.parametrize("kind", BACKENDS)
def test_delete_killed_mid_job_resumes_and_counts_every_row_once(
    scenario: Any, kind: str, settings: Any
) -> None:
    run = start(scenario, kind)
    SlowItem.objects.bulk_create(SlowItem(name=f"s{i}") for i in range(ROWS))
    task = run.submit("delete", queryset=SlowItem.objects.all(), params={"chunk_size": 100})
    wait_processed(task, 500)

    task = kill_and_resume(run, task, kind, settings)

    assert task.status == "succeeded", task.message
    assert task.attempts == 2
    assert not SlowItem.objects.exists()
    assert (task.processed, task.succeeded_count, task.skipped_count) == (ROWS, ROWS, 0)


def tickets_csv(rows: int) -> bytes:
    lines = ["Title,Seats"] + [f"Ticket {i:06d},{i % 400 + 1}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("kind", BACKENDS)
def test_import_killed_mid_file_resumes_with_every_row_once(
    scenario: Any, kind: str, settings: Any
) -> None:
    run = start(scenario, kind)
    task = run.submit(
        "import",
        model=Ticket,
        params={"filename": "tickets.csv", "mode": "create", "chunk_size": 500},
        input_file=ContentFile(tickets_csv(IMPORT_ROWS), name="tickets.csv"),
    )
    wait_processed(task, 5_000, timeout=120)
    committed_at_kill = Ticket.objects.count()

    task = kill_and_resume(run, task, kind, settings)

    assert 5_000 <= committed_at_kill < IMPORT_ROWS
    assert task.status == "succeeded", task.message
    assert task.attempts == 2
    assert (task.processed, task.failed_count) == (IMPORT_ROWS, 0)
    assert Ticket.objects.count() == IMPORT_ROWS
    duplicated = Ticket.objects.values("title").annotate(n=Count("pk")).filter(n__gt=1)
    assert not duplicated.exists(), list(duplicated[:5])
