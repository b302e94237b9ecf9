"""Hostile input that crosses modules: guessed ids, path tricks, markup, random form data."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bulkops
from bulkops.forms import bulk_update_form_factory
from bulkops.models import BulkTask, BulkTaskError
from tests.testapp.models import Customer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["task-status", "task-detail", "task-download"])
def test_guessed_task_ids_are_404_like_other_users_tasks(
    client: Client, user: Any, name: str
) -> None:
    client.force_login(user)
    for _ in range(20):
        url = reverse(f"bulkops:{name}", kwargs={"pk": uuid.uuid4()})
        assert client.get(url).status_code == 404
    assert client.get(f"/bulkops/tasks/{'1' * 36}/status/").status_code == 404


def test_anonymous_cancel_and_retry_are_404(client: Client, user: Any) -> None:
    task = BulkTask.objects.create(operation="update", owner=user, status="running")
    for name in ("task-cancel", "task-retry"):
        assert client.post(reverse(f"bulkops:{name}", kwargs={"pk": task.pk})).status_code == 404
    task.refresh_from_db()
    assert task.status == "running" and not task.cancel_requested


@pytest.mark.parametrize(
    "filename",
    ["../../../etc/passwd", "..\\..\\windows\\win.ini", "/abs/path/data.csv", "ok/../../x.csv"],
)
def test_uploaded_file_names_cannot_leave_the_upload_folder(
    settings: Any, tmp_path: Any, filename: str, dummy_backend: list[Any]
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    upload = ContentFile(b"name\nalpha\n", name=filename)

    @bulkops.operation("tests.stores_a_file")
    def stores_a_file(ctx: Any) -> dict[str, Any]:
        return {}

    task = bulkops.submit("tests.stores_a_file", input_file=upload)

    stored = task.input_file.path
    assert stored.startswith(str(tmp_path / "bulkops" / "uploads")), stored
    assert ".." not in task.input_file.name
    assert task.input_file.name.endswith(filename.replace("\\", "/").rsplit("/", 1)[-1])


def test_markup_in_row_errors_is_escaped_on_the_detail_page(client: Client, user: Any) -> None:
    task = BulkTask.objects.create(
        operation="import", owner=user, status="succeeded", failed_count=1
    )
    BulkTaskError.objects.create(
        task=task,
        row=3,
        field="<b>Name</b>",
        message='"><img src=x onerror=alert(1)>',
        values={"name": "<script>steal()</script>"},
    )
    client.force_login(user)

    html = client.get(reverse("bulkops:task-detail", kwargs={"pk": task.pk})).content.decode()

    assert "<script>steal()" not in html and "<img src=x" not in html and "<b>Name" not in html
    assert "&lt;script&gt;steal()&lt;/script&gt;" in html


CustomerForm = bulk_update_form_factory(Customer, ["name", "city", "country", "active"])
any_text = st.text(max_size=120)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.fixed_dictionaries(
        {},
        optional={
            "set_name": st.sampled_from(["on", ""]),
            "name": any_text,
            "set_city": st.sampled_from(["on", ""]),
            "city": any_text,
            "set_country": st.sampled_from(["on", ""]),
            "country": any_text,
            "set_active": st.sampled_from(["on", ""]),
            "active": any_text,
        },
    )
)
def test_update_form_either_names_the_bad_field_or_applies_exactly_what_it_cleaned(
    data: dict[str, str], user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = Customer.objects.create(
        name="Before", email=f"{uuid.uuid4()}@x.org", city="Lima", country="PE"
    )
    form = CustomerForm(data)

    if not form.is_valid():
        assert set(form.errors) <= {"name", "city", "country", "active", "__all__"}
        assert all(messages for messages in form.errors.values())
        return
    values = form.values()
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit(
            "update",
            queryset=Customer.objects.filter(pk=customer.pk),
            params={"values": values},
            sync_threshold=10,
        )
    task.refresh_from_db()
    customer.refresh_from_db()
    assert task.status == "succeeded", task.message
    for name, value in values.items():
        assert getattr(customer, name) == value
