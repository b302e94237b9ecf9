"""Exports leave out passwords and project-marked fields unless a definition names them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

import bulkops
from bulkops import runner
from bulkops.checks import check_settings
from bulkops.exceptions import BulkOpsError
from bulkops.models import BulkTask
from bulkops.operations.exports import default_columns
from bulkops.sensitive import is_sensitive
from bulkops.tabular import open_table
from bulkops.tabular.definition import ImportDefinition, _registry, register_import

from .models_app.models import Customer

pytestmark = pytest.mark.django_db


def exported(user: Any, queryset: Any, capture: Any, **params: Any) -> tuple[list[str], list[Any]]:
    with capture(execute=True):
        task = bulkops.submit("export", user=user, queryset=queryset, params=params)
    runner.run(task.pk)
    task.refresh_from_db()
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    name = task.result_file.name or ""
    with task.result_file.open("rb") as handle, open_table(handle, filename=name) as table:
        return list(table.headers), [values for _, values in table.rows()]


@pytest.fixture
def customers(db: Any) -> None:
    Customer.objects.create(name="Ana", email="ana@example.com", phone="+34 600")


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_auth_user_without_a_definition_exports_no_password(
    admin_user: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any, file_format: str
) -> None:
    assert User not in _registry
    User.objects.create_user("clerk", email="clerk@example.com", password="s3cret-pw")

    headers, rows = exported(
        admin_user,
        User.objects.order_by("pk"),
        django_capture_on_commit_callbacks,
        format=file_format,
    )

    assert "Password" not in headers and not any("password" in h.lower() for h in headers)
    assert "Username" in headers and "Email address" in headers
    assert len(rows) == 2
    hashes = set(User.objects.values_list("password", flat=True))
    assert not any(str(cell) in hashes for row in rows for cell in row if cell)


def test_a_password_cannot_be_asked_for_by_name_or_through_a_foreign_key(
    admin_user: Any, dummy_backend: Any
) -> None:
    for fields in (["username", "password"], ["password", "email"]):
        with pytest.raises(ValidationError, match="sensitive field"):
            bulkops.submit(
                "export", user=admin_user, queryset=User.objects.all(), params={"fields": fields}
            )
    # A task's owner is a foreign key to the user: its password is as sensitive there.
    with pytest.raises(ValidationError, match="sensitive field"):
        bulkops.submit(
            "export",
            user=admin_user,
            queryset=BulkTask.objects.all(),
            params={"fields": ["label", "owner__password"]},
        )


def test_a_definition_that_names_the_password_exports_it(
    admin_user: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    register_import(ImportDefinition(User, fields=["username", "password"]))
    try:
        headers, rows = exported(
            admin_user, User.objects.all(), django_capture_on_commit_callbacks, format="csv"
        )
    finally:
        _registry.pop(User, None)
    assert headers == ["Username", "Password"]
    assert rows[0][1] == admin_user.password


def test_a_field_listed_in_sensitive_fields_is_left_out(
    settings: Any,
    customers: Any,
    importer: Any,
    dummy_backend: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SENSITIVE_FIELDS": ["tabular_models.Customer.phone"]}
    assert "phone" not in default_columns(Customer)

    headers, rows = exported(
        importer, Customer.objects.all(), django_capture_on_commit_callbacks, format="xlsx"
    )

    assert "Phone" not in headers and "E-mail address" in headers
    assert "+34 600" not in rows[0]
    with pytest.raises(ValidationError, match="sensitive field"):
        bulkops.submit(
            "export",
            user=importer,
            queryset=Customer.objects.all(),
            params={"fields": ["name", "phone"]},
        )


def test_a_field_marked_on_the_model_is_left_out_unless_the_definition_names_it(
    monkeypatch: Any,
    customers: Any,
    importer: Any,
    dummy_backend: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    monkeypatch.setattr(Customer, "bulkops_sensitive_fields", ("email",), raising=False)
    assert is_sensitive(Customer._meta.get_field("email"))

    headers, _ = exported(
        importer, Customer.objects.all(), django_capture_on_commit_callbacks, format="csv"
    )
    assert "E-mail address" not in headers and "Name" in headers

    register_import(ImportDefinition(Customer, fields=["name", "email"]))
    try:
        headers, rows = exported(
            importer, Customer.objects.all(), django_capture_on_commit_callbacks, format="csv"
        )
    finally:
        _registry.pop(Customer, None)
    assert headers == ["Name", "E-mail address"] and rows == [["Ana", "ana@example.com"]]


def test_a_field_marked_after_the_submit_is_not_written(
    settings: Any,
    customers: Any,
    importer: Any,
    dummy_backend: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit(
            "export",
            user=importer,
            queryset=Customer.objects.all(),
            params={"format": "csv", "fields": ["name", "phone"]},
        )
    settings.BULKOPS = {**settings.BULKOPS, "SENSITIVE_FIELDS": ["tabular_models.customer.phone"]}

    with pytest.raises(BulkOpsError):
        runner.run(task.pk)

    task.refresh_from_db()
    assert task.status == BulkTask.Status.FAILED
    assert task.message.startswith('"phone" is a sensitive field')
    assert not task.result_file


def test_password_names_and_types() -> None:
    from django.db import models

    class PasswordField(models.CharField):  # type: ignore[type-arg]
        pass

    assert is_sensitive(models.CharField(name="api_password"))
    assert is_sensitive(models.CharField(name="smtp_passwd"))
    assert is_sensitive(models.CharField(name="pwd"))
    assert is_sensitive(PasswordField(name="secret"))
    assert not is_sensitive(models.CharField(name="passport_number"))


def test_check_warns_about_an_entry_that_marks_nothing(settings: Any) -> None:
    settings.BULKOPS = {
        **settings.BULKOPS,
        "SENSITIVE_FIELDS": ["auth.user.pasword", "nope.model.field", "phone"],
    }
    warnings = [m for m in check_settings() if m.id == "bulkops.W006"]
    assert len(warnings) == 3
    text = "\n".join(m.msg for m in warnings)
    assert 'auth.user has no field "pasword"' in text
    assert 'there is no model "nope.model"' in text
    assert '"app_label.model.field"' in text
