"""Two unfinished delete/update tasks on one model never overlap: the second is refused."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

import bulkops
from bulkops import runner
from bulkops.exceptions import TaskConflict
from bulkops.models import BulkTask
from tests.testapp.models import Customer, Item


@pytest.mark.django_db
def test_second_submit_on_the_same_model_is_refused_until_the_first_finishes(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
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
    bulkops.submit("delete", queryset=Item.objects.filter(value=3))
    assert BulkTask.objects.count() == 3


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
