"""The spreadsheet import through the JSON API: upload (a dry run), preview, confirm.

The rules are the import pages' (ImportView): which models, who, the same forms.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from bulkops.models import BulkTask
from tests.tabular.files import xlsx_bytes
from tests.tabular.models_app.models import Customer as ImportedCustomer

pytestmark = pytest.mark.django_db


def post_json(client: Client, path: str, body: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json", **kwargs)


IMPORT = "tabular_models.customer"
ROWS = [
    ["Name", "E-mail", "Country"],
    ["Ann", "ann@example.com", "ES"],
    ["Bob", "bad-email", "FR"],
]


def import_url(step: str = "") -> str:
    name = "bulkops:api-import-" + (step or "upload")
    return reverse(name, kwargs={"model": IMPORT})


@pytest.fixture
def importing(
    client: Client, importer: Any, registered: Any, countries: Any, monkeypatch: Any
) -> Client:
    # Outside the test's transaction a small file's dry run runs inside the request, as
    # on_commit runs at once in autocommit: do the same here.
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, **kwargs: func())
    client.force_login(importer)
    return client


def upload(client: Client, data: bytes, **extra: Any) -> Any:
    payload = {"file": SimpleUploadedFile("people.xlsx", data), "key_field": "email", **extra}
    return client.post(import_url(), payload)


def test_import_dry_run_then_confirm(
    importing: Client, django_capture_on_commit_callbacks: Any
) -> None:
    preview = upload(importing, xlsx_bytes(ROWS))

    assert preview.status_code == 200, preview.content
    dry = preview.json()
    assert dry["row_count"] == 2 and dry["can_import"] is True
    assert [c["field"] for c in dry["columns"]] == ["name", "email", "country"]
    # The dry run of the whole file is the import page's check, a task of its own.
    check = dry["check"]
    assert (check["status"], check["processed"], check["failed"]) == ("succeeded", 2, 1)
    assert check["result"]["created"] == 1
    assert dry["errors"] == [
        {"row": 3, "column": "E-mail", "message": "Enter a valid email address."}
    ]
    listed = importing.get(check["links"]["errors"]).json()["results"]
    assert [(e["row"], e["message"]) for e in listed] == [(3, "Enter a valid email address.")]
    assert not ImportedCustomer.objects.exists()  # a dry run writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        started = post_json(
            importing, import_url("confirm"), {"upload": dry["upload"], "key_field": "email"}
        )

    assert started.status_code == 202, started.content
    task = BulkTask.objects.get(pk=started.json()["id"])
    assert not task.params.get("dry_run") and task.params["stored"] is True
    assert (task.operation, task.status, task.succeeded_count, task.failed_count) == (
        "import",
        "succeeded",
        1,
        1,
    )
    assert list(ImportedCustomer.objects.values_list("email", flat=True)) == ["ann@example.com"]
    again = post_json(importing, import_url("confirm"), {"upload": dry["upload"]})
    assert again.status_code == 400 and list(again.json()["errors"]) == ["upload"]


def test_import_preview_with_another_mapping(importing: Client) -> None:
    dry = upload(importing, xlsx_bytes(ROWS)).json()

    remapped = post_json(
        importing,
        import_url("preview"),
        {
            "upload": dry["upload"],
            "key_field": "email",
            "mapping": {"0": "name", "1": "email", "2": None},
        },
    ).json()

    assert [c["field"] for c in remapped["columns"]] == ["name", "email", ""]


def test_import_errors_name_the_field(importing: Client, settings: Any) -> None:
    broken = upload(importing, b"PK\x03\x04 not a workbook")
    assert broken.status_code == 400 and list(broken.json()["errors"]) == ["file"]
    no_key = upload(importing, xlsx_bytes(ROWS), key_field="", mode="update")
    assert no_key.status_code == 400 and "key_field" in no_key.json()["errors"]
    forged = post_json(importing, import_url("confirm"), {"upload": "abc"})
    assert forged.status_code == 400 and list(forged.json()["errors"]) == ["upload"]
    settings.BULKOPS = {**settings.BULKOPS, "MAX_UPLOAD_SIZE": 1000}
    big = upload(importing, xlsx_bytes(ROWS * 50))
    assert big.status_code == 413 and list(big.json()["errors"]) == ["file"]


def test_someone_elses_upload_cannot_be_confirmed(
    importing: Client, django_user_model: Any
) -> None:
    dry = upload(importing, xlsx_bytes(ROWS)).json()
    from django.contrib.auth.models import Permission

    thief = django_user_model.objects.create_user("thief")
    thief.user_permissions.add(*Permission.objects.filter(content_type__app_label="tabular_models"))
    other = Client()
    other.force_login(thief)
    response = post_json(
        other, import_url("confirm"), {"upload": dry["upload"], "key_field": "email"}
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["upload"]


def test_import_needs_the_model_permission_and_an_import(
    client: Client, other_user: Any, registered: Any
) -> None:
    client.force_login(other_user)
    assert upload(client, xlsx_bytes(ROWS)).status_code == 403
    unregistered = reverse("bulkops:api-import-upload", kwargs={"model": "testapp.customer"})
    assert client.post(unregistered, {}).status_code == 404


def test_session_upload_without_csrf_is_403(importer: Any, registered: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(importer)

    response = upload(client, xlsx_bytes(ROWS))

    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"


def test_another_sheet_is_read_from_the_kept_original(
    importing: Client, django_capture_on_commit_callbacks: Any
) -> None:
    data = xlsx_bytes(
        [["Notes"], ["this sheet is not the data"]],
        title="Read me",
        extra_sheets=[("Customers", ROWS[:2], "visible")],
    )
    first = upload(importing, data).json()
    assert first["sheets"] == ["Read me", "Customers"]
    assert first["can_import"] is False and first["check"] is None and first["problem"]

    second = post_json(
        importing,
        import_url("preview"),
        {"upload": first["upload"], "sheet": "Customers", "key_field": "email"},
    ).json()
    assert (second["sheet"], second["row_count"], second["can_import"]) == ("Customers", 1, True)
    assert second["check"]["failed"] == 0 and second["upload"] != first["upload"]

    with django_capture_on_commit_callbacks(execute=True):
        started = post_json(
            importing,
            import_url("confirm"),
            {"upload": second["upload"], "sheet": "Customers", "key_field": "email"},
        )
    assert started.status_code == 202, started.content
    assert list(ImportedCustomer.objects.values_list("name", flat=True)) == ["Ann"]


def test_upload_limits_and_option_errors_name_the_field(importing: Client, settings: Any) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "MAX_ROWS": 1}
    too_many = upload(importing, xlsx_bytes(ROWS))
    assert too_many.status_code == 400 and list(too_many.json()["errors"]) == ["file"]
    settings.BULKOPS = {**settings.BULKOPS, "MAX_ROWS": 100}
    dry = upload(importing, xlsx_bytes(ROWS)).json()
    bad = post_json(importing, import_url("preview"), {"upload": dry["upload"], "mode": "update"})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["key_field"]
