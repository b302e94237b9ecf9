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

    # Back to the changelist, which shows the task's progress above the rows.
    assert response.status_code == 302 and response["Location"] == CHANGELIST + "?city=Porto"
    html = admin_client.get(response["Location"]).content.decode()
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

    assert response.status_code == 302
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


# The task admin: the same visibility rule as the bulkops pages ---------------------

TASKS = "/admin/bulkops/bulktask/"


def _staff(django_user_model: Any, name: str, *codenames: str) -> Client:
    user = django_user_model.objects.create_user(name, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="bulkops", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


def _task(owner: Any, label: str) -> BulkTask:
    from django.core.files.base import ContentFile

    task = BulkTask.objects.create(
        owner=owner, operation="export", label=label, status=BulkTask.Status.SUCCEEDED
    )
    task.input_file.save(f"{label}-upload.csv", ContentFile(b"name\nx\n"), save=False)
    task.result_file.save(f"{label}-result.csv", ContentFile(b"name\nsecret\n"), save=False)
    task.save()
    return task


@pytest.fixture
def two_owners(django_user_model: Any) -> tuple[Client, BulkTask, BulkTask]:
    ana = _staff(django_user_model, "ana", "view_bulktask")
    bea = _staff(django_user_model, "bea", "view_bulktask")
    return ana, _task(ana.user, "ana-task"), _task(bea.user, "bea-task")  # type: ignore[attr-defined]


def test_a_staff_user_with_view_bulktask_sees_only_their_own_tasks(
    two_owners: tuple[Client, BulkTask, BulkTask],
) -> None:
    client, own, other = two_owners

    changelist = client.get(TASKS)
    html = changelist.content.decode()
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == 1
    assert "ana-task" in html and "bea-task" not in html
    # Searching by the other owner's name finds nothing either.
    assert client.get(TASKS, {"q": "bea"}).context["cl"].result_count == 0

    page = client.get(f"{TASKS}{own.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    download = f"/bulkops/tasks/{own.pk}/download/"
    assert f'href="{download}"' in html
    # No link straight to storage: nothing checks permissions there.
    assert "/media/" not in html and "ana-task-upload.csv" in html
    assert client.get(download).status_code == 200


def test_another_users_task_and_files_are_not_found_in_the_admin(
    two_owners: tuple[Client, BulkTask, BulkTask],
) -> None:
    import uuid

    client, _, other = two_owners

    for suffix in ("change/", "history/", "delete/"):
        response = client.get(f"{TASKS}{other.pk}/{suffix}")
        missing = client.get(f"{TASKS}{uuid.uuid4()}/{suffix}")
        # The admin's answer for a task that does not exist: nothing tells the two apart.
        assert response.status_code == missing.status_code
        assert response.get("Location") == missing.get("Location")
        assert response.status_code == (403 if suffix == "delete/" else 302)
        assert "bea-task" not in client.get("/admin/").content.decode()

    assert client.get(f"/bulkops/tasks/{other.pk}/download/").status_code == 404
    assert client.get(f"/bulkops/tasks/{other.pk}/").status_code == 404
    assert client.get(f"/bulkops/tasks/{other.pk}/status/").status_code == 404


def test_view_all_tasks_shows_every_task_and_file_in_the_admin(
    django_user_model: Any, two_owners: tuple[Client, BulkTask, BulkTask]
) -> None:
    _, own, other = two_owners
    support = _staff(django_user_model, "support", "view_bulktask", "view_all_tasks")

    changelist = support.get(TASKS)
    assert changelist.context["cl"].result_count == 2

    page = support.get(f"{TASKS}{other.pk}/change/")
    assert page.status_code == 200
    assert f'href="/bulkops/tasks/{other.pk}/download/"' in page.content.decode()
    response = support.get(f"/bulkops/tasks/{other.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"name\nsecret\n"  # type: ignore[attr-defined]


def test_view_all_tasks_alone_does_not_open_the_admin_page(
    django_user_model: Any, two_owners: tuple[Client, BulkTask, BulkTask]
) -> None:
    # The admin's model permission still decides who gets the page at all.
    client = _staff(django_user_model, "pages-only", "view_all_tasks")
    assert client.get(TASKS).status_code == 403


def test_delete_rights_reach_only_the_tasks_one_sees(
    django_user_model: Any, two_owners: tuple[Client, BulkTask, BulkTask]
) -> None:
    _, own, other = two_owners
    client = _staff(django_user_model, "cleaner", "view_bulktask", "delete_bulktask")
    mine = _task(client.user, "cleaner-task")  # type: ignore[attr-defined]

    client.post(
        TASKS,
        {
            "action": "delete_selected",
            "_selected_action": [str(other.pk), str(mine.pk)],
            "post": "yes",
        },
    )
    response = client.post(f"{TASKS}{other.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert BulkTask.objects.filter(pk__in=[own.pk, other.pk]).count() == 2
    assert not BulkTask.objects.filter(pk=mine.pk).exists()


def test_a_superuser_sees_every_task_and_the_change_page_renders(
    admin_user: Any, two_owners: tuple[Client, BulkTask, BulkTask]
) -> None:
    _, own, other = two_owners
    client = Client()
    client.force_login(admin_user)

    assert client.get(TASKS).context["cl"].result_count == 2
    html = client.get(f"{TASKS}{other.pk}/change/").content.decode()
    assert f'href="/bulkops/tasks/{other.pk}/download/"' in html and "/media/" not in html
    assert "bea-task-upload.csv" in html
