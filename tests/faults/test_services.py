"""Broker and database faults in the middle of a job."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

import bulkops
from tests.faults.conftest import wait_finished, wait_processed
from tests.testapp.models import Item

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_redis_restarted_mid_job_completes_or_fails_cleanly(
    scenario: Any, private_redis: Any
) -> None:
    from celery import Celery

    import tests.celery_app as apps

    sender = Celery("bulkops_private_redis", set_as_current=False)
    sender.config_from_object("django.conf:settings", namespace="CELERY")
    sender.conf.broker_url = private_redis.url
    sender.conf.result_backend = private_redis.url
    apps.private_redis_app = sender  # type: ignore[attr-defined]
    run = scenario(
        "celery-redis", BROKER=private_redis.url, APP="tests.celery_app.private_redis_app"
    )
    run.worker.env["CELERY_RESULT_BACKEND"] = private_redis.url
    Item.objects.bulk_create(Item(name=f"i{i}") for i in range(2000))
    task = run.submit(
        "tests.increment", queryset=Item.objects.all(), params={"chunk_size": 100, "delay": 0.2}
    )
    wait_processed(task, 300)

    private_redis.kill()
    time.sleep(1)
    private_redis.start()

    task = wait_finished(task, timeout=180)
    if task.status == "failed":  # acceptable only if clean: the row matches the table
        assert Item.objects.filter(value=1).count() == task.processed
        bulkops.retry(task)
        task = wait_finished(task, timeout=180)
    assert task.status == "succeeded", task.message
    assert dict(Item.objects.values_list("value").annotate(n=Count("pk"))) == {1: 2000}


def test_database_connection_terminated_mid_chunk_fails_cleanly_then_retry_completes(
    scenario: Any, settings: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminating another session's connection is a PostgreSQL test")
    run = scenario("celery-rabbitmq", BULKOPS_DB_APPNAME="bulkops-victim")
    Item.objects.bulk_create(Item(name=f"i{i}") for i in range(2000))
    task = run.submit(
        "tests.increment", queryset=Item.objects.all(), params={"chunk_size": 100, "delay": 0.2}
    )
    wait_processed(task, 300)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'bulkops-victim' AND datname = current_database()"
        )
        assert cursor.fetchall(), "the worker's connection was found and terminated"

    task = wait_finished(task)
    # The task row never claims more than was committed.
    assert Item.objects.filter(value=1).count() == task.processed
    if task.status == "failed":
        assert "connection" in task.message.lower() or "terminat" in task.message.lower()
        settings.BULKOPS = {**settings.BULKOPS, **run.config}
        bulkops.retry(task)
        task = wait_finished(task)
    assert task.status == "succeeded", task.message
    assert dict(Item.objects.values_list("value").annotate(n=Count("pk"))) == {1: 2000}
