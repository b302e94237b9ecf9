"""The JSON API's task endpoints: the pages' rules (owner, 404, permission, CSRF) in JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import bulkops
from bulkops import runner
from bulkops.models import BulkTask, BulkTaskError
from tests.testapp.api_auth import make_token
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db


def url(name: str, task: BulkTask | None = None) -> str:
    kwargs = {"pk": task.pk} if task is not None else {}
    return reverse(f"bulkops:{name}", kwargs=kwargs)


@pytest.fixture
def task(user: Any) -> BulkTask:
    return BulkTask.objects.create(
        operation="update",
        model="testapp.item",
        owner=user,
        label="Update items",
        status="running",
        total=100,
        processed=40,
        succeeded_count=40,
        stage="Updating",
        heartbeat_at=timezone.now(),
    )


@pytest.fixture
def csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_headers(client: Client) -> dict[str, str]:
    client.get(url("task-list"))  # the page sets the CSRF cookie, as a browser would get it
    return {"X-CSRFToken": client.cookies["csrftoken"].value}


def test_detail_has_the_numbers_and_links(client: Client, user: Any, task: BulkTask) -> None:
    client.force_login(user)
    response = client.get(url("api-task", task))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["id"] == str(task.pk)
    assert (data["status"], data["percent"], data["processed"], data["total"]) == (
        "running",
        40,
        40,
        100,
    )
    assert data["stage"] == "Updating" and data["label"] == "Update items"
    assert data["links"]["cancel"] == "http://testserver" + url("api-task-cancel", task)
    assert data["links"]["retry"] is None and data["links"]["download"] is None


def test_someone_elses_task_is_404_everywhere(
    client: Client, other_user: Any, task: BulkTask
) -> None:
    client.force_login(other_user)
    for name in ("api-task", "api-task-errors", "api-task-download", "api-task-error-report"):
        response = client.get(url(name, task))
        assert response.status_code == 404, name
        assert response.json()["code"] == "not_found"
    for name in ("api-task-cancel", "api-task-retry", "api-task-retry-failed"):
        assert client.post(url(name, task)).status_code == 404, name
    assert client.get(url("api-task-events", task)).status_code == 404
    task.refresh_from_db()
    assert not task.cancel_requested


def test_view_all_permission_sees_others_tasks(
    client: Client, other_user: Any, task: BulkTask
) -> None:
    other_user.user_permissions.add(Permission.objects.get(codename="view_all_tasks"))
    client.force_login(other_user)

    assert client.get(url("api-task", task)).status_code == 200
    assert client.get(url("api-task-list")).json()["count"] == 0  # own tasks by default
    assert client.get(url("api-task-list") + "?all=1").json()["count"] == 1


def test_anonymous_gets_401_json(client: Client, task: BulkTask) -> None:
    response = client.get(url("api-task", task))
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "detail": "Log in to use this API."}


def test_list_filters_and_paginates(client: Client, user: Any, other_user: Any) -> None:
    for i in range(7):
        BulkTask.objects.create(operation="update" if i % 2 else "delete", owner=user)
    BulkTask.objects.create(operation="delete", owner=user, status="failed")
    BulkTask.objects.create(operation="delete", owner=other_user)
    client.force_login(user)

    page = client.get(url("api-task-list") + "?page_size=3&operation=delete").json()
    assert (page["count"], page["pages"], len(page["results"])) == (5, 2, 3)
    assert page["next"].endswith("page_size=3&operation=delete&page=2")
    assert {t["operation"] for t in page["results"]} == {"delete"}
    failed = client.get(url("api-task-list") + "?status=failed").json()
    assert [t["status"] for t in failed["results"]] == ["failed"]


def test_list_names_a_bad_filter(client: Client, user: Any) -> None:
    client.force_login(user)
    response = client.get(url("api-task-list") + "?status=done&page_size=500")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status"}
    response = client.get(url("api-task-list") + "?page_size=500")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"page_size"}


def test_row_errors_are_paginated_with_original_values(
    client: Client, user: Any, task: BulkTask
) -> None:
    BulkTaskError.objects.bulk_create(
        BulkTaskError(task=task, row=r, field="value", message=f"bad {r}", values={"v": r})
        for r in range(2, 7)
    )
    client.force_login(user)

    page = client.get(url("api-task-errors", task) + "?page_size=2&page=2").json()

    assert page["count"] == 5
    assert page["results"] == [
        {
            "row": 4,
            "ref": "",
            "field": "value",
            "message": "bad 4",
            "message_data": None,
            "values": {"v": 4},
        },
        {
            "row": 5,
            "ref": "",
            "field": "value",
            "message": "bad 5",
            "message_data": None,
            "values": {"v": 5},
        },
    ]


def test_cancel_needs_csrf_with_a_session(csrf_client: Client, task: BulkTask) -> None:
    response = csrf_client.post(url("api-task-cancel", task))
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    task.refresh_from_db()
    assert not task.cancel_requested

    response = csrf_client.post(url("api-task-cancel", task), headers=csrf_headers(csrf_client))
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.cancel_requested


def test_token_authentication_hook_needs_no_csrf(task: BulkTask, user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"Bearer {make_token(user)}"}

    assert client.get(url("api-task", task), headers=headers).status_code == 200
    response = client.post(url("api-task-cancel", task), headers=headers)
    assert response.status_code == 200
    bad = client.get(url("api-task", task), headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401


def test_cancel_of_a_finished_task_is_409(client: Client, user: Any, task: BulkTask) -> None:
    BulkTask.objects.filter(pk=task.pk).update(status="succeeded")
    client.force_login(user)
    response = client.post(url("api-task-cancel", task))
    assert response.status_code == 409 and response.json()["code"] == "finished"


def test_wrong_method_is_405_json(client: Client, user: Any, task: BulkTask) -> None:
    client.force_login(user)
    response = client.get(url("api-task-cancel", task))
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_retry_requeues_a_failed_task(
    client: Client, user: Any, task: BulkTask, dummy_backend: list[Any]
) -> None:
    client.force_login(user)
    assert client.post(url("api-task-retry", task)).status_code == 409  # still running

    BulkTask.objects.filter(pk=task.pk).update(status="failed")
    response = client.post(url("api-task-retry", task))

    assert response.status_code == 202
    assert response.json()["status"] == "pending"


def test_retry_failed_rows_starts_a_task_over_them(
    client: Client,
    user: Any,
    items: list[Item],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = bulkops.submit(
            "tests.bad_rows", user=user, queryset=Item.objects.all(), permission="*"
        )
    runner.run(first.pk)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("api-task-retry-failed", first))

    assert response.status_code == 202
    retry = BulkTask.objects.get(pk=response.json()["id"])
    assert retry.parent_id == first.pk
    assert response["Location"].endswith(url("api-task", retry))
    odd = {i.pk for i in items if i.value % 2}
    assert set(retry.get_queryset().values_list("pk", flat=True)) == odd  # type: ignore[union-attr]


def test_downloads_result_file_and_error_report(client: Client, user: Any, task: BulkTask) -> None:
    task.result_file.save("export.csv", ContentFile(b"id,name\n1,a\n"))
    BulkTaskError.objects.create(
        task=task, row=3, field="name", message="=HYPERLINK(1)", values={"name": "x"}
    )
    BulkTask.objects.filter(pk=task.pk).update(status="succeeded", failed_count=1)
    client.force_login(user)

    file = client.get(url("api-task-download", task))
    assert file.status_code == 200
    assert b"".join(file.streaming_content) == b"id,name\n1,a\n"  # type: ignore[attr-defined]
    report = client.get(url("api-task-error-report", task))
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert rows[1] == ["3", "", "name", "'=HYPERLINK(1)", '{"name": "x"}']


def test_events_under_wsgi_answer_once_with_a_retry_hint(
    client: Client, user: Any, task: BulkTask
) -> None:
    client.force_login(user)
    response = client.get(url("api-task-events", task))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    body = response.content.decode()
    assert body.startswith("retry: 1000\n")
    assert "event: progress\n" in body and '"percent": 40' in body

    BulkTask.objects.filter(pk=task.pk).update(status="succeeded")
    body = client.get(url("api-task-events", task) + "?format=html").content.decode()
    assert "event: finished\n" in body
    assert "data: <section" in body and "hx-get" not in body


def test_list_filters_by_outcome(client: Client, user: Any) -> None:
    BulkTask.objects.create(operation="update", owner=user, status="succeeded", outcome="partial")
    BulkTask.objects.create(operation="update", owner=user, status="succeeded", outcome="succeeded")
    client.force_login(user)

    page = client.get(url("api-task-list") + "?outcome=partial").json()

    assert [(t["status"], t["outcome"]) for t in page["results"]] == [("succeeded", "partial")]
    assert page["results"][0]["outcome_display"] == "Finished with failed rows"
    bad = client.get(url("api-task-list") + "?outcome=green")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"outcome"}


def test_django_rest_framework_authentication_plugs_in(
    settings: Any, task: BulkTask, user: Any, other_user: Any
) -> None:
    import base64

    settings.BULKOPS = {
        **settings.BULKOPS,
        "API_AUTHENTICATION": ["bulkops.jsonapi.auth.rest_framework"],
    }
    settings.REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.SessionAuthentication",
            "rest_framework.authentication.BasicAuthentication",
        ]
    }
    client = Client(enforce_csrf_checks=True)

    def basic(username: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{username}:pw".encode()).decode()}

    assert client.get(url("api-task", task), headers=basic("alice")).status_code == 200
    assert client.get(url("api-task", task), headers=basic("mallory")).status_code == 404
    wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:guess").decode()}
    assert client.get(url("api-task", task), headers=wrong).status_code == 401
    assert client.post(url("api-task-cancel", task), headers=basic("alice")).status_code == 200
    client.force_login(user)  # a session alone is not DRF's to accept here
    assert client.get(url("api-task", task)).status_code == 401


def test_system_check_reports_bad_api_settings(settings: Any) -> None:
    from bulkops.checks import check_api_settings

    settings.BULKOPS = {
        **settings.BULKOPS,
        "API_VIEWS": {"gone": "tests.testapp.views.Nothing", "plain": "django.views.View"},
        "API_AUTHENTICATION": ["tests.testapp.api_auth.nope"],
        "API_OPERATIONS": {"tests.nothing": "*", "update": "*"},
    }
    errors = check_api_settings()

    assert [(e.id, "gone" in e.msg or "plain" in e.msg) for e in errors] == [
        ("bulkops.E021", True),
        ("bulkops.E021", True),
        ("bulkops.E023", False),
        ("bulkops.E023", False),
        ("bulkops.E022", False),
    ]
    settings.BULKOPS = {
        **settings.BULKOPS,
        "API_VIEWS": {},
        "API_AUTHENTICATION": [],
        "API_OPERATIONS": {},
    }
    assert check_api_settings() == []
