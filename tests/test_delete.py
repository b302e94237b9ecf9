from __future__ import annotations

from typing import Any

import pytest

import bulkops
from bulkops.models import BulkTask, BulkTaskError
from bulkops.operations.delete import blocking_objects, deletion_summary
from tests.testapp.models import Customer, Invoice, Note, Order

pytestmark = pytest.mark.django_db


def run_delete(queryset: Any, capture: Any, **params: Any) -> BulkTask:
    with capture(execute=True):
        task = bulkops.submit("delete", queryset=queryset, params=params)
    task.refresh_from_db()
    return task


def test_delete_cascades_and_counts_per_model(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    Note.objects.bulk_create(Note(customer=c, text="hi") for c in customers[:4])

    task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks, chunk_size=7)

    assert task.status == "succeeded"
    assert (task.total, task.succeeded_count, task.failed_count) == (30, 30, 0)
    assert not Customer.objects.exists() and not Note.objects.exists()
    assert task.result["deleted"] == {"testapp.Customer": 30, "testapp.Note": 4}


def test_protected_rows_are_row_errors_naming_the_blockers_and_the_rest_is_deleted(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    ana = customers[3]
    Customer.objects.filter(pk=ana.pk).update(name="Ana")
    orders = Order.objects.bulk_create([Order(customer=ana), Order(customer=ana)])

    task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks, chunk_size=10)

    assert task.status == "succeeded"
    assert (task.succeeded_count, task.failed_count, task.processed) == (29, 1, 30)
    assert list(Customer.objects.values_list("pk", flat=True)) == [ana.pk]
    error = BulkTaskError.objects.get(task=task)
    assert error.ref == str(ana.pk)
    assert error.message == (
        f"Cannot delete Customer 'Ana' because Order #{orders[0].pk}, "
        f"Order #{orders[1].pk} refer to it."
    )


def test_restrict_blocks_like_protect(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    invoice = Invoice.objects.create(customer=customers[0], number="F-1")

    task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks)

    assert (task.succeeded_count, task.failed_count) == (29, 1)
    assert BulkTaskError.objects.get(task=task).message.endswith(
        f"because Invoice #{invoice.pk} refers to it."
    )


def test_many_blockers_are_summarised(customers: list[Customer]) -> None:
    Order.objects.bulk_create(Order(customer=customers[0]) for _ in range(8))

    blockers = blocking_objects(customers[0])

    assert len(blockers) == 8
    from bulkops.operations.delete import describe_blocked

    assert describe_blocked(customers[0], blockers).count("Order #") == 5
    assert "and 3 more refer to it." in describe_blocked(customers[0], blockers)


def test_unblocked_chunks_use_one_delete_per_model(
    customers: list[Customer],
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    # Per chunk: select pks, collector lookups (orders, invoices, notes), DELETE notes,
    # DELETE customers, checkpoint/counters: a constant, not one query per row.
    with django_assert_max_num_queries(40):
        task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks)
    assert task.succeeded_count == 30


def test_deletion_summary_counts_cascades_and_blockers(customers: list[Customer]) -> None:
    Note.objects.bulk_create(Note(customer=c) for c in customers[:5])
    Order.objects.create(customer=customers[1])

    summary = deletion_summary(Customer.objects.filter(city="Lisbon"))

    assert summary["deleted"][0] == ("Customers", 10)
    assert ("Notes", 2) in summary["deleted"]  # customers 0 and 3 are in Lisbon
    assert summary["blocked"] == []
    assert deletion_summary(Customer.objects.all())["blocked"] == [("Orders", 1)]
