"""Two unfinished delete/update tasks on one model never overlap: the second is refused."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

import bulkops
from bulkops import liveness, runner
from bulkops.exceptions import NothingSelected, TaskConflict
from bulkops.models import BulkTask
from tests.testapp.models import Customer, Item


@pytest.mark.django_db
def test_second_submit_on_the_same_model_is_refused_until_the_first_finishes(
    items: list[Item],
    customers: list[Customer],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = bulkops.submit(
            "update", queryset=Item.objects.all(), params={"values": {"value": 1}}
        )

    with pytest.raises(TaskConflict, match="Another bulk task is still working") as excinfo:
        bulkops.submit("delete", queryset=Item.objects.filter(value=3))
    assert excinfo.value.task == first
    assert BulkTask.objects.count() == 1

    # Another model is not blocked.
    bulkops.submit("delete", queryset=Customer.objects.all())

    runner.run(first.pk)
    bulkops.submit("delete", queryset=Item.objects.filter(value=1))
    assert BulkTask.objects.count() == 3


@pytest.mark.django_db
def test_jobs_in_different_scopes_run_side_by_side_and_the_same_scope_is_refused(
    items: list[Item], dummy_backend: list[Any]
) -> None:
    tenant_a = bulkops.submit("delete", queryset=Item.objects.filter(value__lt=5), lock_scope="a")
    tenant_b = bulkops.submit("delete", queryset=Item.objects.filter(value__gt=20), lock_scope="b")
    assert {tenant_a.lock_key, tenant_b.lock_key} == {"testapp.item:a", "testapp.item:b"}

    with pytest.raises(TaskConflict, match="Another bulk task is still working on these rows"):
        bulkops.submit(
            "update", queryset=Item.objects.all(), params={"values": {"value": 1}}, lock_scope="a"
        )
    assert BulkTask.objects.count() == 2


@pytest.mark.django_db
def test_a_submit_over_no_rows_is_refused_and_leaves_no_task(dummy_backend: list[Any]) -> None:
    with pytest.raises(NothingSelected, match="No rows are selected"):
        bulkops.submit("delete", queryset=Item.objects.none())
    assert not BulkTask.objects.exists()
    assert dummy_backend == []


@pytest.mark.django_db
def test_a_dead_workers_task_stops_blocking_the_next_submit_without_a_poll(
    items: list[Item], dummy_backend: list[Any]
) -> None:
    held = bulkops.submit("update", queryset=Item.objects.all(), params={"values": {"value": 1}})
    # As a SIGKILLed worker on this host leaves it: running, fresh heartbeat, pid gone.
    host = liveness.worker_id().split(":", 1)[0]
    BulkTask.objects.filter(pk=held.pk).update(status="running", worker=f"{host}:999999:1")

    bulkops.submit("delete", queryset=Item.objects.all())

    held.refresh_from_db()
    assert (held.status, held.outcome) == ("failed", "failed")
    assert held.message.startswith("Stalled")


@pytest.mark.django_db
def test_retry_is_refused_while_another_task_holds_the_model(
    items: list[Item], dummy_backend: list[Any]
) -> None:
    failed = BulkTask.objects.create(
        operation="update", model="testapp.item", lock_key="testapp.item", status="failed"
    )
    bulkops.submit("delete", queryset=Item.objects.all())

    with pytest.raises(TaskConflict):
        bulkops.retry(failed)
    failed.refresh_from_db()
    assert failed.status == "failed"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_submits_racing_on_postgresql_let_exactly_one_in(dummy_backend: list[Any]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the race is about concurrent transactions on PostgreSQL")
    Item.objects.bulk_create(Item(name=f"i{i}") for i in range(10))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            from django.db import transaction

            with transaction.atomic():
                barrier.wait(timeout=10)
                bulkops.submit("delete", queryset=Item.objects.all())
            outcomes.append("submitted")
        except TaskConflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    for _ in range(20):
        BulkTask.objects.all().delete()
        outcomes.clear()
        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == ["conflict", "submitted"]
        assert BulkTask.objects.unfinished().filter(lock_key="testapp.item").count() == 1
