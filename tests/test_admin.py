from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from bulkops.models import BulkTask, BulkTaskError
from tests.testapp.models import Customer, Order

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/testapp/customer/"


@pytest.fixture
def admin_client(django_user_model: Any) -> Client:
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="testapp",
            codename__in=["view_customer", "change_customer", "delete_customer"],
        )
    )
    client = Client()
    client.force_login(staff)
    return client


def test_delete_selected_across_all_rows_confirms_then_runs_in_the_background(
    admin_client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    order = Order.objects.create(customer=customers[1])
    # As the changelist posts "select all 10": the ticked page rows plus select_across.
    data = {
        "action": "delete_selected",
        "select_across": "1",
        "index": "0",
        "_selected_action": [str(customers[1].pk)],
    }

    response = admin_client.post(CHANGELIST + "?city=Porto", data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "This will run on 10 customers in the background." in html
    assert "Orders: 1" in html
    assert 'name="select_across" value="1"' in html
    assert Customer.objects.count() == 30

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(CHANGELIST + "?city=Porto", {**data, "post": "yes"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="progressbar"' in html and "htmx" in html
    task = BulkTask.objects.get()
    task.refresh_from_db()
    assert (task.operation, task.total, task.succeeded_count, task.failed_count) == (
        "delete",
        10,
        9,
        1,
    )
    assert f"Order #{order.pk} refers to it" in BulkTaskError.objects.get(task=task).message
    assert set(Customer.objects.exclude(city="Porto").values_list("city", flat=True)) == {
        "Lisbon",
        "Braga",
    }
    assert Customer.objects.filter(city="Porto").count() == 1


def test_custom_chunk_action_runs_on_the_selected_ids(
    admin_client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    chosen = [str(c.pk) for c in customers[:3]]
    data = {"action": "mark_inactive", "_selected_action": chosen, "index": "0", "post": "yes"}

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(CHANGELIST, data)

    assert response.status_code == 200
    task = BulkTask.objects.get()
    assert task.operation == "admin:tests.testapp.admin.mark_inactive"
    assert task.label == "Mark selected customers inactive"
    assert sorted(Customer.objects.filter(active=False).values_list("pk", flat=True)) == [
        c.pk for c in customers[:3]
    ]


def test_registered_operation_as_admin_action(
    admin_client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    data = {"action": "deactivate", "_selected_action": [str(customers[0].pk)], "index": "0"}
    html = admin_client.post(CHANGELIST, data).content.decode()
    assert "This will run on 1 customer in the background." in html

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHANGELIST, {**data, "post": "yes"})

    assert list(Customer.objects.filter(active=False).values_list("pk", flat=True)) == [
        customers[0].pk
    ]


def test_actions_need_the_model_permission(
    django_user_model: Any, customers: list[Customer]
) -> None:
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_customer", content_type__app_label="testapp")
    )
    client = Client()
    client.force_login(viewer)

    html = client.get(CHANGELIST).content.decode()

    assert "delete_selected" not in html and "mark_inactive" not in html
    response = client.post(
        CHANGELIST,
        {
            "action": "delete_selected",
            "select_across": "1",
            "index": "0",
            "post": "yes",
            "_selected_action": [str(customers[0].pk)],
        },
    )
    assert not BulkTask.objects.exists() and Customer.objects.count() == 30
    assert response.status_code in (200, 302)
