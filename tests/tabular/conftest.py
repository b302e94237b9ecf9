from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile

import bulkops
from bulkops import runner
from bulkops.models import BulkTask
from bulkops.tabular.definition import ImportDefinition, _registry, register_import
from tests.tabular.models_app.models import Country, Customer, Ticket


class CustomerImport(ImportDefinition):
    model = Customer
    lookups = {"country": "code"}
    key_fields = ["email"]


@pytest.fixture
def registered() -> Any:
    register_import(CustomerImport)
    register_import(ImportDefinition(Ticket))
    yield
    _registry.pop(Customer, None)
    _registry.pop(Ticket, None)


@pytest.fixture
def importer(django_user_model: Any) -> Any:
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("importer", password="pw")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="tabular_models",
            codename__regex=r"^(add|change|view)_",
        )
    )
    return user


@pytest.fixture
def countries(db: Any) -> list[Country]:
    return Country.objects.bulk_create(
        [
            Country(code="ES", name="Spain"),
            Country(code="FR", name="France"),
            Country(code="PT", name="Portugal"),
        ]
    )


@pytest.fixture
def run_import(
    importer: Any,
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
    registered: Any,
) -> Any:
    def run(
        data: bytes,
        filename: str,
        *,
        model: Any = Customer,
        expect_raise: bool = False,
        **params: Any,
    ) -> BulkTask:
        with django_capture_on_commit_callbacks(execute=True):
            task = bulkops.submit(
                "import",
                user=importer,
                model=model,
                params={"filename": filename, **params},
                input_file=ContentFile(data, name=filename),
            )
        if expect_raise:
            with pytest.raises(Exception):  # noqa: B017 - the runner re-raises whatever failed
                runner.run(task.pk)
        else:
            runner.run(task.pk)
        task.refresh_from_db()
        return task

    return run
