"""An operation's own step (its form and its confirmation), declared once in
tests/testapp/operations.py (``tests.relocate``), on every surface: a list view, the
admin and the JSON API. Delete, update and export go through the same path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from bulkops.models import BulkTask
from tests.testapp.models import Customer, Order

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
CHANGELIST = "/admin/testapp/customer/"


@pytest.fixture
def carol(customer_user: Any) -> Client:
    client = Client()
    client.force_login(customer_user)
    return client


@pytest.fixture
def staff(customer_user: Any) -> Client:
    customer_user.is_staff = True
    customer_user.save()
    client = Client()
    client.force_login(customer_user)
    return client


def test_list_view_renders_the_operations_form_and_confirmation_then_runs_it(
    carol: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    Order.objects.create(customer=customers[0])
    url = reverse("customers")
    for customer in customers[:2]:
        carol.post(url, {"bulk_op": "toggle", "bulk_pk": customer.pk, "bulk_checked": "1"})

    html = carol.post(
        url, {"bulk_op": "action", "bulk_action": "tests.relocate"}, headers=HX
    ).content.decode()

    assert "Relocate: 2 customers?" in html
    assert "Customers: <strong>2</strong>" in html and "Orders: <strong>1</strong>" in html
    assert "Their orders keep the city they were shipped to." in html
    assert 'name="city"' in html and "Office merged" in html and "Yes, relocate" in html

    # The form's own validation answers first, in the same step.
    html = carol.post(
        url, {"bulk_op": "run", "bulk_action": "tests.relocate", "reason": "moved"}, headers=HX
    ).content.decode()
    assert "This field is required." in html and not BulkTask.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        carol.post(
            url,
            {"bulk_op": "run", "bulk_action": "tests.relocate", "city": "Faro", "reason": "moved"},
            headers=HX,
        )

    task = BulkTask.objects.get()
    assert (task.operation, task.params["city"], task.succeeded_count) == (
        "tests.relocate",
        "Faro",
        2,
    )
    assert set(Customer.objects.filter(city="Faro")) == set(customers[:2])


def test_admin_renders_the_operations_form_and_confirmation_then_runs_it(
    staff: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    Order.objects.create(customer=customers[0])
    data = {"action": "relocate", "index": "0", "_selected_action": [customers[0].pk]}

    html = staff.post(CHANGELIST, data).content.decode()

    assert "This will run on 1 customer in the background." in html
    assert "Customers: 1" in html and "Orders: 1" in html
    assert "Their orders keep the city they were shipped to." in html
    assert 'name="city"' in html and 'value="Yes, relocate"' in html

    html = staff.post(CHANGELIST, {**data, "post": "yes", "city": ""}).content.decode()
    assert "This field is required." in html and not BulkTask.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        staff.post(CHANGELIST, {**data, "post": "yes", "city": "Faro", "reason": "merged"})

    task = BulkTask.objects.get()
    assert task.params == {"city": "Faro", "reason": "merged"}
    assert list(Customer.objects.filter(city="Faro")) == [customers[0]]


def test_json_api_describes_and_checks_the_operations_form(
    carol: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    listing = carol.get(reverse("bulkops:api-action-list")).json()
    view = next(v for v in listing["results"] if v["name"] == "customers")
    action = next(a for a in view["actions"] if a["name"] == "tests.relocate")
    assert action["params_key"] == "params"
    assert [p["name"] for p in action["params"]] == ["city", "reason"]
    assert action["params"][1]["choices"][1] == {"value": "merged", "label": "Office merged"}

    url = reverse(
        "bulkops:api-action-run", kwargs={"view": "customers", "action": "tests.relocate"}
    )
    bad = carol.post(
        url,
        json.dumps({"ids": [customers[0].pk], "params": {"reason": "fled"}}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"params.city", "params.reason"}

    with django_capture_on_commit_callbacks(execute=True):
        good = carol.post(
            url,
            json.dumps({"ids": [customers[0].pk], "params": {"city": "Faro", "reason": "moved"}}),
            content_type="application/json",
        )
    assert good.status_code == 202, good.content
    assert list(Customer.objects.filter(city="Faro")) == [customers[0]]


def test_admin_update_is_an_ordinary_operation_with_its_form(
    staff: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    data = {"action": "update", "index": "0", "_selected_action": [customers[0].pk]}
    html = staff.post(CHANGELIST, data).content.decode()
    assert 'name="set_city"' in html and 'name="email"' not in html

    with django_capture_on_commit_callbacks(execute=True):
        staff.post(CHANGELIST, {**data, "post": "yes", "set_city": "on", "city": "Faro"})

    assert list(Customer.objects.filter(city="Faro")) == [customers[0]]


def test_view_user_cannot_see_or_run_the_operation_in_the_admin(
    django_user_model: Any, customers: list[Customer]
) -> None:
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_customer", content_type__app_label="testapp")
    )
    client = Client()
    client.force_login(viewer)

    html = client.get(CHANGELIST).content.decode()

    assert "relocate" not in html
    assert "bulkops_export" in html  # exporting needs only the view permission
