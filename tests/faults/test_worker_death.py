"""SIGKILL real workers in the middle of a job: the end state equals a run with no crash."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.management import call_command

import bulkops
from tests.faults.conftest import assert_dead, holder, wait_finished, wait_processed
from tests.testapp.models import Item, SlowItem

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROWS = 3000


def increment_job(scenario: Any) -> Any:
    Item.objects.bulk_create(Item(name=f"i{i}", value=0) for i in range(ROWS))
    return scenario.submit(
        "tests.increment",
        queryset=Item.objects.all(),
        params={"chunk_size": 100, "delay": 0.1},
    )


def assert_applied_exactly_once(task: Any, attempts: int) -> None:
    assert task.status == "succeeded", task.message
    assert (task.processed, task.succeeded_count, task.total) == (ROWS, ROWS, ROWS)
    assert task.attempts == attempts
    values = dict(
        Item.objects.values_list("value").annotate(n=__import__("django").db.models.Count("pk"))
    )
    assert values == {1: ROWS}, f"rows by value (2 = applied twice, 0 = lost): {values}"


@pytest.mark.parametrize("broker", ["rabbitmq", "redis"])
def test_celery_worker_killed_mid_update_is_redelivered_and_resumes(
    scenario: Any, broker: str
) -> None:
    # RabbitMQ requeues a dead consumer's unacked message at once; Redis after the
    # visibility timeout, shortened here so the test does not wait an hour.
    run = scenario(f"celery-{broker}", BULKOPS_VISIBILITY_TIMEOUT="5")
    if broker == "redis":
        from tests.celery_app import redis_app

        redis_app.conf.broker_transport_options = {"visibility_timeout": 5}
    task = increment_job(run)
    wait_processed(task, 500)
    held_by = holder(task)

    run.worker.kill()
    assert_dead(held_by)
    task.refresh_from_db()
    assert task.status == "running" and 500 <= task.processed < ROWS
    run.restart()

    assert_applied_exactly_once(wait_finished(task), attempts=2)


def test_django_q_cluster_killed_mid_update_is_redelivered_and_resumes(scenario: Any) -> None:
    # django-q2 hands a task out again once `retry` seconds pass without an ack; the
    # job's own timeout stays far above it so only the kill interrupts the job.
    run = scenario("django-q-orm", BULKOPS_Q_RETRY="10", BULKOPS_Q_TIMEOUT="300")
    task = increment_job(run)
    wait_processed(task, 300)
    held_by = holder(task)

    run.worker.kill()
    assert_dead(held_by)
    run.restart()

    assert_applied_exactly_once(wait_finished(task), attempts=2)


def test_django_tasks_worker_killed_is_recovered_and_retried(scenario: Any, settings: Any) -> None:
    # The database tasks backend does not deliver a task twice: the heartbeat check
    # (bulkops_recover) ends it as stalled and Retry resumes it.
    run = scenario("django-tasks")
    task = increment_job(run)
    wait_processed(task, 500)
    run.worker.kill()
    settings.BULKOPS = {**settings.BULKOPS, "HEARTBEAT_TIMEOUT": 2}
    time.sleep(2.5)

    call_command("bulkops_recover")
    task.refresh_from_db()
    assert task.status == "failed" and task.message.startswith("Stalled")
    committed = task.processed
    assert Item.objects.filter(value=1).count() == committed

    run.restart()
    settings.BULKOPS = {**settings.BULKOPS, **run.config}
    bulkops.retry(task)

    assert_applied_exactly_once(wait_finished(task), attempts=2)


def test_celery_worker_killed_mid_delete_resumes_without_losing_count(scenario: Any) -> None:
    run = scenario("celery-rabbitmq")
    SlowItem.objects.bulk_create(SlowItem(name=f"s{i}") for i in range(ROWS))
    task = run.submit("delete", queryset=SlowItem.objects.all(), params={"chunk_size": 100})
    wait_processed(task, 500)

    run.worker.kill()
    run.restart()

    task = wait_finished(task)
    assert task.status == "succeeded", task.message
    assert task.attempts == 2
    assert not SlowItem.objects.exists()
    assert (task.processed, task.succeeded_count, task.skipped_count) == (ROWS, ROWS, 0)
