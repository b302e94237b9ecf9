from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models.signals import post_save

import bulkops
from bulkops.models import BulkTask, BulkTaskError
from tests.testapp.models import Customer

pytestmark = pytest.mark.django_db


def run_update(queryset: Any, capture: Any, **params: Any) -> BulkTask:
    with capture(execute=True):
        task = bulkops.submit("update", queryset=queryset, params=params)
    task.refresh_from_db()
    return task


def test_values_are_validated_with_the_model_field(customers: list[Customer]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        bulkops.submit(
            "update", queryset=Customer.objects.all(), params={"values": {"email": "nope"}}
        )
    assert excinfo.value.message_dict == {"email": ["Enter a valid email address."]}


def test_unknown_mode_is_refused(customers: list[Customer]) -> None:
    with pytest.raises(ValidationError, match="Choose one of queryset, objects"):
        bulkops.submit(
            "update",
            queryset=Customer.objects.all(),
            params={"values": {"city": "X"}, "mode": "fast"},
        )


def test_update_sets_values_one_statement_per_chunk(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    task = run_update(
        Customer.objects.filter(city="Porto"),
        django_capture_on_commit_callbacks,
        values={"active": False, "country": "ES"},
    )

    assert task.status == "succeeded"
    assert (task.total, task.succeeded_count) == (10, 10)
    assert Customer.objects.filter(active=False, country="ES").count() == 10
    assert Customer.objects.filter(active=True, country="PT").count() == 20
    assert task.label == "Update customers: active, country"


def test_unique_violations_are_row_errors_and_the_job_goes_on(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    task = run_update(
        Customer.objects.filter(pk__in=[c.pk for c in customers[:4]]),
        django_capture_on_commit_callbacks,
        values={"email": "same@example.com"},
    )

    assert task.status == "succeeded"
    assert (task.succeeded_count, task.failed_count) == (1, 3)
    assert Customer.objects.filter(email="same@example.com").count() == 1
    errors = list(BulkTaskError.objects.filter(task=task).order_by("id"))
    assert [e.ref for e in errors] == [str(c.pk) for c in customers[1:4]]
    assert errors[0].field == "email"
    assert errors[0].message == "Customer 001: Customer with this Email already exists."


def test_per_object_mode_runs_full_clean_save_and_signals(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    saved: list[Any] = []

    def on_save(sender: Any, instance: Customer, update_fields: Any, **kwargs: Any) -> None:
        saved.append((instance.pk, sorted(update_fields)))

    Customer.objects.filter(pk=customers[0].pk).update(email="broken")  # invalid already
    post_save.connect(on_save, sender=Customer)
    try:
        task = run_update(
            Customer.objects.filter(pk__in=[c.pk for c in customers[:3]]),
            django_capture_on_commit_callbacks,
            values={"city": "Faro"},
            mode="objects",
        )
    finally:
        post_save.disconnect(on_save, sender=Customer)

    assert (task.succeeded_count, task.failed_count) == (2, 1)
    assert saved == [(customers[1].pk, ["city"]), (customers[2].pk, ["city"])]
    error = BulkTaskError.objects.get(task=task)
    assert (error.ref, error.field) == (str(customers[0].pk), "email")
    assert "Enter a valid email address." in error.message
    assert Customer.objects.get(pk=customers[0].pk).city == "Lisbon"
