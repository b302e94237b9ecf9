"""Duplicate deliveries, retry storms and time limits, on real workers."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Count

from bulkops.backends import get_backend
from tests.faults.conftest import wait_finished, wait_processed
from tests.testapp.models import Item

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def values(rows: int) -> dict[int, int]:
    return dict(Item.objects.values_list("value").annotate(n=Count("pk")))


def test_django_q_retry_shorter_than_the_job_still_runs_it_once(scenario: Any) -> None:
    # retry=1 s against a ~6 s job: the cluster hands the task out again and again.
    run = scenario(
        "django-q-orm", BULKOPS_Q_RETRY="1", BULKOPS_Q_TIMEOUT="120", BULKOPS_Q_WORKERS="2"
    )
    Item.objects.bulk_create(Item(name=f"i{i}") for i in range(2000))
    task = run.submit(
        "tests.increment", queryset=Item.objects.all(), params={"chunk_size": 100, "delay": 0.3}
    )

    task = wait_finished(task)

    assert task.status == "succeeded", task.message
    assert task.attempts == 1
    assert values(2000) == {1: 2000}
    assert f"{task.pk} is already running or finished" in run.worker.log(), (
        "the cluster did deliver it again, and that delivery did nothing"
    )


def test_celery_message_delivered_twice_runs_once(scenario: Any, settings: Any) -> None:
    run = scenario("celery-rabbitmq")
    Item.objects.bulk_create(Item(name=f"i{i}") for i in range(1000))
    task = run.submit(
        "tests.increment", queryset=Item.objects.all(), params={"chunk_size": 100, "delay": 0.1}
    )
    wait_processed(task, 100)
    settings.BULKOPS = {**settings.BULKOPS, **run.config}
    get_backend().enqueue(task)  # the broker delivers it again while it runs

    task = wait_finished(task)

    assert task.status == "succeeded" and task.attempts == 1
    assert values(1000) == {1: 1000}


def test_time_limit_on_a_real_worker_fails_cleanly_and_keeps_committed_chunks(
    scenario: Any,
) -> None:
    run = scenario("celery-rabbitmq")
    Item.objects.bulk_create(Item(name=f"i{i}") for i in range(1000))
    task = run.submit(
        "tests.increment",
        queryset=Item.objects.all(),
        params={"chunk_size": 100, "delay": 0.3, "time_limit": 1},
    )

    task = wait_finished(task)

    assert task.status == "failed"
    assert task.message.startswith("Stopped after the time limit of 1 s;")
    assert 0 < task.processed < 1000
    assert values(1000) == {1: task.processed, 0: 1000 - task.processed}
