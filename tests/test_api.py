from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

import bulkops
from bulkops.exceptions import UnknownOperation
from bulkops.models import BulkTask
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db


def test_submit_validates_values_with_the_model_field(items: list[Item], user: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        bulkops.submit(
            "update",
            user=user,
            queryset=Item.objects.all(),
            params={"values": {"value": "not a number", "nope": 1}},
        )
    errors = excinfo.value.message_dict
    assert errors["value"] == ["“not a number” value must be an integer."]
    assert errors["nope"] == ["item has no field 'nope'."]
    assert not BulkTask.objects.exists()


def test_submit_refuses_a_user_without_the_model_permission(
    items: list[Item], other_user: Any
) -> None:
    with pytest.raises(PermissionDenied):
        bulkops.submit("delete", user=other_user, queryset=Item.objects.all())
    assert not BulkTask.objects.exists()


def test_unknown_operation_names_the_registered_ones() -> None:
    with pytest.raises(UnknownOperation, match="No bulk operation named 'nope'.*update"):
        bulkops.submit("nope")


def test_small_jobs_run_inline_through_the_runner_and_leave_a_task(
    items: list[Item],
    user: Any,
    dummy_backend: list[Any],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SYNC_THRESHOLD": 100}
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit("delete", user=user, queryset=Item.objects.filter(value__lt=10))

    assert dummy_backend == [], "inline jobs never reach the queue"
    task.refresh_from_db()
    assert task.status == "succeeded"
    assert (task.total, task.succeeded_count) == (10, 10)
    assert Item.objects.count() == 15
    assert task.owner == user
    assert task.label == "Delete items"


def test_dispatch_waits_for_the_transaction_to_commit(
    items: list[Item],
    user: Any,
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bulkops.submit("delete", user=user, queryset=Item.objects.all())
        assert dummy_backend == []
    assert len(callbacks) == 1


def test_a_queue_that_cannot_be_reached_fails_the_task_with_the_reason(
    items: list[Item],
    user: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BULKOPS = {
        **settings.BULKOPS,
        "BACKEND": "bulkops.backends.celery.CeleryBackend",
        "OPTIONS": {"app": "tests.test_api.unreachable_app"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit("delete", user=user, queryset=Item.objects.all())

    task.refresh_from_db()
    assert task.status == "failed"
    assert task.message.startswith("The task could not be queued:")
    assert Item.objects.count() == 25


def _unreachable() -> Any:
    from celery import Celery

    app = Celery("unreachable", set_as_current=False)
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app.conf.broker_connection_retry = False
    app.conf.broker_connection_max_retries = 0
    app.conf.broker_transport_options = {"max_retries": 0}
    return app


unreachable_app = _unreachable()


def test_derived_numbers() -> None:
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    task = BulkTask(
        status="running", total=1000, processed=250, started_at=now - timedelta(seconds=10)
    )
    assert task.percent == 25
    assert task.rate == pytest.approx(25, rel=0.05)
    assert task.eta is not None and task.eta.total_seconds() == pytest.approx(30, rel=0.05)
    assert not task.is_finished
    task.status = "succeeded"
    assert task.percent == 100 and task.eta is None and task.is_finished
