from __future__ import annotations

from typing import Any

import pytest

import bulkops
from bulkops.models import BulkTask, BulkTaskError
from bulkops.operations.delete import FastDelete, blocking_objects, deletion_summary
from tests.testapp.models import Customer, Invoice, Note, Order, Reminder, VipCustomer, Visit

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


def test_rows_blocked_through_a_cascade_are_found_too(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    note = Note.objects.create(customer=customers[7], text="call back")
    reminder = Reminder.objects.create(note=note)
    Order.objects.create(customer=customers[1])

    task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks)

    assert (task.succeeded_count, task.failed_count) == (28, 2)
    messages = dict(BulkTaskError.objects.filter(task=task).values_list("ref", "message"))
    assert messages[str(customers[7].pk)].endswith(f"because Reminder #{reminder.pk} refers to it.")
    assert set(Customer.objects.values_list("pk", flat=True)) == {customers[1].pk, customers[7].pk}


def test_directly_protected_rows_cost_no_query_per_row(
    customers: list[Customer],
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    Order.objects.create(customer=customers[3])
    Order.objects.create(customer=customers[20])

    with django_assert_max_num_queries(40):
        task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks)

    assert (task.succeeded_count, task.failed_count) == (28, 2)


def test_a_chunk_without_blockers_is_one_delete_per_model_without_loading_rows(
    db: Any, django_capture_on_commit_callbacks: Any, fixed_chunks: None
) -> None:
    people = Customer.objects.bulk_create(
        Customer(name=f"P{i}", email=f"p{i}@example.com") for i in range(250)
    )
    Note.objects.bulk_create(Note(customer=c) for c in people[:120])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks)

    assert task.result["deleted"] == {"testapp.Customer": 250, "testapp.Note": 120}
    sql = [q["sql"] for q in queries.captured_queries]
    # Django's collector would load the 250 customers and delete them 100 at a time.
    assert sum(s.startswith('DELETE FROM "testapp_customer"') for s in sql) == 1
    assert sum(s.startswith('DELETE FROM "testapp_note"') for s in sql) == 1
    assert not [s for s in sql if s.startswith('SELECT "testapp_customer"."id" FROM')]


def test_set_null_relations_keep_their_rows_without_the_customer(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    kept = Customer.objects.create(name="Kept", email="kept@example.com")
    Visit.objects.bulk_create(
        [Visit(customer=customers[0]), Visit(customer=customers[5]), Visit(customer=kept)]
    )

    task = run_delete(
        Customer.objects.exclude(pk=kept.pk), django_capture_on_commit_callbacks, chunk_size=7
    )

    assert task.succeeded_count == 30
    assert list(Customer.objects.all()) == [kept]
    owners = sorted(Visit.objects.values_list("customer", flat=True), key=str)
    assert owners == [kept.pk, None, None]


def test_multi_table_children_go_with_their_parents(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    vip = VipCustomer.objects.create(name="Vip", email="vip@example.com", tier="gold")
    other = VipCustomer.objects.create(name="Other", email="other@example.com")

    task = run_delete(Customer.objects.exclude(pk=other.pk), django_capture_on_commit_callbacks)

    assert task.result["deleted"] == {"testapp.Customer": 31, "testapp.VipCustomer": 1}
    assert not VipCustomer.objects.filter(pk=vip.pk).exists()
    assert list(Customer.objects.all()) == [Customer.objects.get(pk=other.pk)]

    # Deleting the children deletes their parent rows too (Django's collector does it).
    task = run_delete(VipCustomer.objects.all(), django_capture_on_commit_callbacks)

    assert task.succeeded_count == 1
    assert not Customer.objects.exists() and not VipCustomer.objects.exists()


def test_delete_signals_are_sent_for_cascaded_rows(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    from django.db.models.signals import post_delete

    Note.objects.bulk_create(Note(customer=c, text=f"n{c.pk}") for c in customers[:3])
    seen: list[str] = []

    def record(sender: Any, instance: Note, **kwargs: Any) -> None:
        seen.append(instance.text)

    post_delete.connect(record, sender=Note)
    try:
        assert FastDelete.plan(Customer) is None
        task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks)
    finally:
        post_delete.disconnect(record, sender=Note)

    assert task.result["deleted"] == {"testapp.Customer": 30, "testapp.Note": 3}
    assert sorted(seen) == sorted(f"n{c.pk}" for c in customers[:3])
    assert FastDelete.plan(Customer) is not None


def test_a_blocker_under_a_cascade_sends_the_chunk_to_the_collector(
    customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    note = Note.objects.create(customer=customers[2])
    Reminder.objects.create(note=note)

    task = run_delete(Customer.objects.all(), django_capture_on_commit_callbacks, chunk_size=10)

    assert (task.succeeded_count, task.failed_count) == (29, 1)
    assert list(Customer.objects.all()) == [customers[2]]
    assert Note.objects.get() == note


def _with_a_visit(how: str) -> Any:
    from django.db.models import Count, Exists, OuterRef

    if how == "join":
        return Customer.objects.filter(visits__place="Faro").distinct()
    if how == "annotate":
        return Customer.objects.annotate(n=Count("visits")).filter(n__gte=1).order_by("-name")
    if how == "subquery":
        return Customer.objects.filter(pk__in=Visit.objects.values("customer"))
    return Customer.objects.filter(Exists(Visit.objects.filter(customer=OuterRef("pk"))))


@pytest.mark.parametrize("how", ["join", "annotate", "subquery", "exists"])
def test_a_selection_that_reads_the_tables_being_changed_deletes_just_its_rows(
    how: str, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    # The visits are set to NULL before the customers go: the selection must be fixed
    # before that, or "customers with a visit" would match nobody by the last DELETE.
    Visit.objects.create(customer=customers[4], place="Faro")
    Visit.objects.create(customer=customers[4], place="Faro")
    Visit.objects.create(customer=customers[9], place="Faro")

    task = run_delete(_with_a_visit(how), django_capture_on_commit_callbacks, chunk_size=4)

    assert task.result["deleted"] == {"testapp.Customer": 2}
    assert Customer.objects.count() == 28
    assert not Customer.objects.filter(pk__in=[customers[4].pk, customers[9].pk]).exists()
    assert Visit.objects.filter(customer=None).count() == 3
