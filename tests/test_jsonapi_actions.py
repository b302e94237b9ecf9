"""Starting bulk actions through the JSON API.

The rules are the list view's own (BulkMixin): its queryset, its filter, its update
fields, its permissions. The import is in tests/tabular/test_jsonapi_import.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from bulkops.models import BulkTask
from tests.testapp.models import Customer

pytestmark = pytest.mark.django_db


def run_url(view: str, action: str) -> str:
    return reverse("bulkops:api-action-run", kwargs={"view": view, "action": action})


def post_json(client: Client, path: str, body: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json", **kwargs)


@pytest.fixture
def carol(client: Client, customer_user: Any) -> Client:
    client.force_login(customer_user)
    return client


def test_lists_the_actions_the_user_may_run(carol: Client) -> None:
    data = carol.get(reverse("bulkops:api-action-list")).json()

    views = {v["name"]: v for v in data["results"]}
    assert set(views) == {"customers", "customers-pt", "customers-filtered"}
    actions = {a["name"]: a for a in views["customers"]["actions"]}
    assert set(actions) == {"delete", "update", "tests.deactivate", "tests.relocate"}
    assert actions["update"]["fields"] == ["city", "country", "active", "email"]
    assert actions["update"]["url"] == "http://testserver" + run_url("customers", "update")


def test_update_applies_values_to_the_given_ids(
    carol: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    ids = [customers[0].pk, customers[1].pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            carol, run_url("customers", "update"), {"ids": ids, "values": {"city": "Faro"}}
        )

    assert response.status_code == 202, response.content
    task = BulkTask.objects.get(pk=response.json()["id"])
    assert response["Location"].endswith(reverse("bulkops:api-task", kwargs={"pk": task.pk}))
    assert task.status == "succeeded" and task.succeeded_count == 2
    assert list(Customer.objects.filter(city="Faro").values_list("pk", flat=True)) == ids


def test_a_field_outside_the_allow_list_is_400_naming_it(
    carol: Client, customers: list[Customer]
) -> None:
    response = post_json(
        carol,
        run_url("customers", "update"),
        {"ids": [customers[0].pk], "values": {"city": "Faro", "name": "Pwned"}},
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["values.name"]
    assert "name cannot be set here" in errors["values.name"][0]
    assert not BulkTask.objects.exists()
    assert not Customer.objects.filter(name="Pwned").exists()


def test_a_value_the_field_refuses_is_400_naming_it(
    carol: Client, customers: list[Customer]
) -> None:
    response = post_json(
        carol,
        run_url("customers", "update"),
        {"ids": [customers[0].pk], "values": {"email": "not an email"}},
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["values.email"]


def test_ids_outside_the_views_queryset_are_untouched(
    carol: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    spanish = customers[0]
    Customer.objects.filter(pk=spanish.pk).update(country="ES")
    portuguese = customers[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            carol,
            run_url("customers-pt", "update"),
            {"ids": [spanish.pk, portuguese.pk, 999_999, "x"], "values": {"city": "Faro"}},
        )

    assert response.status_code == 202
    assert BulkTask.objects.get(pk=response.json()["id"]).succeeded_count == 1
    spanish.refresh_from_db()
    portuguese.refresh_from_db()
    assert (spanish.city, portuguese.city) == ("Lisbon", "Faro")

    only_outside = post_json(carol, run_url("customers-pt", "delete"), {"ids": [spanish.pk]})
    assert only_outside.status_code == 400 and list(only_outside.json()["errors"]) == ["ids"]
    assert only_outside.json()["code"] == "nothing_selected"
    assert "nothing to do" in only_outside.json()["detail"]
    assert Customer.objects.filter(pk=spanish.pk).exists()


def test_all_matching_uses_the_views_filter_from_the_query_string(
    carol: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    porto = [c.pk for c in customers if c.city == "Porto"]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            carol,
            run_url("customers-filtered", "update") + "?city=Porto",
            {"all_matching": True, "exclude": [porto[0]], "values": {"active": False}},
        )

    assert response.status_code == 202
    assert set(Customer.objects.filter(active=False).values_list("pk", flat=True)) == set(porto[1:])


def test_a_user_without_the_permission_is_refused(
    client: Client, other_user: Any, customers: list[Customer]
) -> None:
    client.force_login(other_user)
    response = post_json(client, run_url("customers", "delete"), {"ids": [customers[0].pk]})

    assert response.status_code == 403
    assert client.get(reverse("bulkops:api-action-list")).json() == {
        "results": [],
        "operations": [],
    }
    assert Customer.objects.count() == len(customers)


def test_unknown_view_or_action_is_404_and_bad_body_is_400(carol: Client) -> None:
    assert post_json(carol, run_url("nope", "update"), {"ids": [1]}).status_code == 404
    assert post_json(carol, run_url("customers", "tests.noop"), {"ids": [1]}).status_code == 404
    bad = carol.post(run_url("customers", "delete"), "[1]", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_json"
    typed = post_json(carol, run_url("customers", "delete"), {"ids": "1", "all_matching": 1})
    assert set(typed.json()["errors"]) == {"ids", "all_matching"}


def test_session_write_without_csrf_is_403(customer_user: Any, customers: list[Customer]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer_user)
    response = post_json(client, run_url("customers", "delete"), {"ids": [customers[0].pk]})

    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert Customer.objects.count() == len(customers)


def test_a_project_operation_runs_with_the_views_params(
    carol: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    ids = [customers[3].pk, customers[4].pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(carol, run_url("customers", "tests.deactivate"), {"ids": ids})

    assert response.status_code == 202
    task = BulkTask.objects.get(pk=response.json()["id"])
    assert (task.operation, task.status, task.succeeded_count) == (
        "tests.deactivate",
        "succeeded",
        2,
    )
    assert set(Customer.objects.filter(active=False).values_list("pk", flat=True)) == set(ids)


def operation_url(name: str) -> str:
    return reverse("bulkops:api-operation-run", kwargs={"name": name})


def test_an_exposed_operation_starts_with_its_params_and_reports_its_counts(
    carol: Client, django_capture_on_commit_callbacks: Any
) -> None:
    listed = carol.get(reverse("bulkops:api-action-list")).json()["operations"]
    assert [o["name"] for o in listed] == ["tests.sync"]

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(carol, operation_url("tests.sync"), {"params": {"source": "erp"}})

    assert response.status_code == 202, response.content
    task = carol.get(response["Location"]).json()
    assert (task["status"], task["processed"], task["total"]) == ("succeeded", 30, 30)
    assert task["result"] == {"created": 25, "updated": 5}


def test_an_exposed_operation_names_a_bad_param_and_checks_its_permission(
    carol: Client, client: Client, other_user: Any
) -> None:
    bad = post_json(carol, operation_url("tests.sync"), {"params": {"source": "ftp"}})
    assert bad.status_code == 400 and bad.json()["errors"] == {
        "params.source": ["Choose erp or crm."]
    }
    assert post_json(carol, operation_url("tests.noop"), {}).status_code == 404  # not exposed

    client.force_login(other_user)
    refused = post_json(client, operation_url("tests.sync"), {"params": {"source": "erp"}})
    assert refused.status_code == 403
    assert client.get(reverse("bulkops:api-action-list")).json()["operations"] == []
    assert not BulkTask.objects.exists()
