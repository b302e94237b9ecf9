from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from bulkops.models import BulkTask, BulkTaskError

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(user: Any) -> BulkTask:
    return BulkTask.objects.create(
        operation="update",
        owner=user,
        label="Update items",
        status="running",
        total=100,
        processed=40,
        succeeded_count=40,
    )


def url(name: str, task: BulkTask) -> str:
    return reverse(f"bulkops:{name}", kwargs={"pk": task.pk})


def test_status_partial_polls_while_running(client: Client, user: Any, task: BulkTask) -> None:
    client.force_login(user)
    response = client.get(url("task-status", task), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="progressbar"' in html and 'aria-valuenow="40"' in html
    assert f'hx-get="{url("task-status", task)}"' in html
    assert 'hx-trigger="every 1s"' in html
    assert "HX-Trigger" not in response.headers


def test_status_partial_stops_polling_and_fires_event_when_finished(
    client: Client, user: Any, task: BulkTask
) -> None:
    BulkTask.objects.filter(pk=task.pk).update(
        status="succeeded", outcome="partial", processed=100, failed_count=3
    )
    client.force_login(user)

    response = client.get(url("task-status", task), HTTP_HX_REQUEST="true")

    assert response.status_code == 286
    assert json.loads(response.headers["HX-Trigger"]) == {
        "bulkops:finished": {"id": str(task.pk), "status": "succeeded", "outcome": "partial"}
    }
    assert "Finished with failed rows" in response.content.decode()
    assert "hx-get" not in response.content.decode()


def test_finished_partial_lists_first_row_errors_escaped(
    client: Client, user: Any, task: BulkTask
) -> None:
    BulkTask.objects.filter(pk=task.pk).update(status="succeeded", failed_count=1)
    BulkTaskError.objects.create(
        task=task, row=7, field="name", message="<script>alert(1)</script> is not allowed"
    )
    client.force_login(user)

    html = client.get(url("task-status", task)).content.decode()

    assert "Row 7, name: &lt;script&gt;alert(1)&lt;/script&gt; is not allowed" in html
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("task-status", "get"),
        ("task-detail", "get"),
        ("task-cancel", "post"),
        ("task-retry", "post"),
        ("task-download", "get"),
    ],
)
def test_another_users_task_is_404_everywhere(
    client: Client, other_user: Any, task: BulkTask, name: str, method: str
) -> None:
    task.result_file.save("out.csv", ContentFile(b"a,b\n"), save=True)
    client.force_login(other_user)

    response = getattr(client, method)(url(name, task))

    assert response.status_code == 404
    task.refresh_from_db()
    assert task.cancel_requested is False


def test_anonymous_polls_get_404_and_pages_ask_to_log_in(client: Client, task: BulkTask) -> None:
    assert client.get(url("task-status", task)).status_code == 404
    response = client.get(reverse("bulkops:task-list"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_view_all_permission_sees_other_users_tasks(
    client: Client, other_user: Any, task: BulkTask
) -> None:
    from django.contrib.auth.models import Permission

    other_user.user_permissions.add(Permission.objects.get(codename="view_all_tasks"))
    client.force_login(other_user)
    assert client.get(url("task-status", task)).status_code == 200


def test_cancel_requires_csrf(user: Any, task: BulkTask) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post(url("task-cancel", task)).status_code == 403
    task.refresh_from_db()
    assert task.cancel_requested is False


def test_cancel_asks_a_running_task_to_stop(client: Client, user: Any, task: BulkTask) -> None:
    client.force_login(user)

    response = client.post(url("task-cancel", task), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Cancelling" in response.content.decode()
    task.refresh_from_db()
    assert task.cancel_requested is True


def test_download_serves_the_owners_file(client: Client, user: Any, task: BulkTask) -> None:
    task.result_file.save("export.csv", ContentFile(b"name\nalpha\n"), save=True)
    client.force_login(user)

    response = client.get(url("task-download", task))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"name\nalpha\n"  # type: ignore[attr-defined]
    assert 'filename="export.csv"' in response["Content-Disposition"]


def test_history_lists_only_my_tasks_and_filters_by_status(
    client: Client, user: Any, other_user: Any, task: BulkTask
) -> None:
    BulkTask.objects.create(operation="delete", owner=user, label="Old delete", status="failed")
    BulkTask.objects.create(operation="delete", owner=other_user, label="Not mine")
    client.force_login(user)

    html = client.get(reverse("bulkops:task-list")).content.decode()
    assert "Update items" in html and "Old delete" in html and "Not mine" not in html

    html = client.get(reverse("bulkops:task-list") + "?status=failed").content.decode()
    assert "Old delete" in html and "Update items" not in html


def test_detail_paginates_row_errors(client: Client, user: Any, task: BulkTask) -> None:
    BulkTaskError.objects.bulk_create(
        BulkTaskError(task=task, row=i, message=f"bad {i}") for i in range(2, 122)
    )
    client.force_login(user)

    html = client.get(url("task-detail", task)).content.decode()
    assert "bad 51" in html and "bad 52" not in html
    html = client.get(url("task-detail", task) + "?page=3").content.decode()
    assert "bad 121" in html


def test_retry_failed_rows_starts_a_child_task_over_only_those_rows(
    client: Client, customer_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import bulkops
    from tests.testapp.models import Customer, Order

    ana, bea, cid = Customer.objects.bulk_create(
        Customer(name=n, email=f"{n}@example.com") for n in ("Ana", "Bea", "Cid")
    )
    order = Order.objects.create(customer=ana)
    Order.objects.create(customer=bea)
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit("delete", user=customer_user, queryset=Customer.objects.all())
    task.refresh_from_db()
    assert task.failed_count == 2
    client.force_login(customer_user)
    assert "Retry the 2 failed rows" in client.get(url("task-detail", task)).content.decode()
    order.delete()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("task-retry-failed", task))

    retry = BulkTask.objects.exclude(pk=task.pk).get()
    assert response.status_code == 302 and response["Location"] == retry.get_absolute_url()
    retry.refresh_from_db()
    assert retry.parent == task and retry.total == 2
    assert (retry.succeeded_count, retry.failed_count) == (1, 1)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Bea"]
    assert not Customer.objects.filter(pk=cid.pk).exists()
