"""Thirty jobs submitted at once on SQLite, worked by a django-q2 cluster (ORM broker)
and a Django tasks db_worker side by side: every job ends as it should, and no process
hits "database is locked"."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import override_settings

import bulkops
from bulkops.models import BulkTask
from tests import services
from tests.testapp.models import Item

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

JOBS = 30
ROWS = 600
LOCKED = ("database is locked", "Failed to pull task from broker")


@pytest.mark.skipif(django_settings.DB_VENDOR != "sqlite", reason="about SQLite's single writer")
@pytest.mark.parametrize("kind", ["django-q-orm", "django-tasks"])
def test_thirty_jobs_at_once_end_right_without_database_is_locked(
    workers: Any, test_db_name: str, kind: str
) -> None:
    if kind == "django-q-orm":
        # Three cluster processes compete for the lock, as a small deployment's would.
        worker = services.q_cluster(test_db_name, "orm")
        worker.env["BULKOPS_Q_WORKERS"] = "3"
        worker.start()
        config = {"BACKEND": "bulkops.backends.django_q.DjangoQBackend", "OPTIONS": {}}
        log_start = 0
    else:
        config = workers.get(kind)
        worker = workers.worker(kind)
        log_start = len(worker.log())
    Item.objects.bulk_create(
        (Item(name=f"item {i}", value=0) for i in range(JOBS * ROWS)), batch_size=5_000
    )
    first = Item.objects.order_by("pk").values_list("pk", flat=True)[0]
    # Every fifth job fails after its first chunk; the others update their own slice
    # (an operation that does not lock its model, so thirty run side by side).
    plans = [(n, "tests.explode" if n % 5 == 4 else "tests.slow_update") for n in range(JOBS)]

    def submit(plan: tuple[int, str]) -> tuple[int, str, Any]:
        n, name = plan
        rows = Item.objects.filter(pk__gte=first + n * ROWS, pk__lt=first + (n + 1) * ROWS)
        try:
            # 10 ms of work per chunk, held in its transaction, as heavier rows would.
            params = {"value": n + 1, "delay": 0.01}
            return n, name, bulkops.submit(name, queryset=rows, params=params).pk
        finally:
            connection.close()

    try:
        # One setting for every thread: override_settings is process-wide.
        with override_settings(BULKOPS={**config, "SYNC_THRESHOLD": 0}):
            with ThreadPoolExecutor(JOBS) as pool:
                submitted = list(pool.map(submit, plans))
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                if not BulkTask.objects.exclude(status__in=BulkTask.FINISHED).exists():
                    break
                time.sleep(0.5)
    finally:
        if kind == "django-q-orm":
            worker.stop()

    for n, name, pk in submitted:
        task = BulkTask.objects.get(pk=pk)
        if name == "tests.slow_update":
            assert task.status == BulkTask.Status.SUCCEEDED, (n, task.status, task.message)
            assert task.succeeded_count == ROWS
            assert Item.objects.filter(value=n + 1).count() == ROWS
        else:
            assert task.status == BulkTask.Status.FAILED, (n, task.status, task.message)
            assert task.message == "RuntimeError: the disk is full"
            assert task.processed == 10
        assert task.attempts == 1
    log = worker.log()[log_start:]
    assert not [line for line in log.splitlines() if any(s in line for s in LOCKED)]
