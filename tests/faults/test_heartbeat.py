"""The heartbeat proves a worker alive without chunk commits; a dead worker's lock goes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings

import bulkops
from bulkops.exceptions import TaskConflict
from bulkops.models import BulkTask
from tests import services
from tests.faults.conftest import holder
from tests.testapp.models import Item

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TIMEOUT = 1.5  # HEARTBEAT_TIMEOUT of the worker and of this test's polls


def test_a_stage_three_times_longer_than_the_heartbeat_timeout_finishes(
    scenario: Any, admin_client: Client
) -> None:
    job = scenario("celery-redis", BULKOPS_HEARTBEAT_TIMEOUT=str(TIMEOUT))
    Item.objects.bulk_create(Item(name=f"item {i}") for i in range(20))
    with override_settings(BULKOPS={**job.config, "SYNC_THRESHOLD": 0}):
        task = bulkops.submit(
            "tests.long_stage", queryset=Item.objects.all(), params={"sleep": 3 * TIMEOUT}
        )

    # Poll as the progress partial does: every poll would end a stalled task.
    statuses = []
    with override_settings(BULKOPS={**job.config, "HEARTBEAT_TIMEOUT": TIMEOUT}):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = admin_client.get(f"/bulkops/tasks/{task.pk}/status/")
            assert response.status_code in (200, 286)
            task.refresh_from_db()
            statuses.append(task.status)
            if task.is_finished:
                break
            time.sleep(0.1)

    assert (task.status, task.outcome) == ("succeeded", "succeeded"), task.message
    assert "running" in statuses and task.attempts == 1
    assert (task.processed, task.succeeded_count) == (20, 20)
    assert Item.objects.filter(value=2).count() == 20


@pytest.mark.parametrize("where", ["this host", "another host"])
def test_a_killed_workers_task_stops_blocking_a_conflicting_submit_without_a_poll(
    scenario: Any, where: str
) -> None:
    job = scenario("celery-redis", BULKOPS_HEARTBEAT_TIMEOUT=str(TIMEOUT))
    Item.objects.bulk_create(Item(name=f"item {i}") for i in range(20))
    with override_settings(BULKOPS={**job.config, "SYNC_THRESHOLD": 0}):
        task = bulkops.submit("tests.long_stage", queryset=Item.objects.all(), params={"sleep": 60})
    services.wait_for(lambda: holder(task), timeout=30)

    job.worker.kill()
    killed_at = time.monotonic()
    if where == "another host":
        # No pid to look up: the silence of its heartbeat is the only evidence.
        BulkTask.objects.filter(pk=task.pk).update(worker="elsewhere:4242:1")

    # Nobody polls the killed task: the conflicting submit itself must notice.
    def submitted() -> BulkTask | None:
        try:
            return bulkops.submit("delete", queryset=Item.objects.all())
        except TaskConflict:
            return None

    polled = {**job.config, "SYNC_THRESHOLD": 10**6, "HEARTBEAT_TIMEOUT": TIMEOUT}
    with override_settings(BULKOPS=polled):
        services.wait_for(submitted, timeout=TIMEOUT * 4, interval=0.05)
    waited = time.monotonic() - killed_at
    if where == "this host":
        assert waited < TIMEOUT / 2, "a dead pid on this host is noticed at once"
    else:
        # Its last beat may fall just before the kill; the slack is this test's own
        # 50 ms retry and the submit itself.
        assert waited <= TIMEOUT + 0.25
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("failed", "failed")
    assert task.message.startswith("Stalled")
