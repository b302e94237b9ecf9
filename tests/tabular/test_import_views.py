"""The import pages through Django's test client: upload, preview, mapping, confirm, result."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bulkops import runner
from bulkops.models import BulkTask

from .files import cfb_bytes, csv_bytes, xlsx_bytes
from .models_app.models import Customer

pytestmark = pytest.mark.django_db
LABEL = "tabular_models.customer"


def url(step: str = "") -> str:
    return reverse(f"bulkops:import{'-' + step if step else ''}", kwargs={"model": LABEL})


@pytest.fixture
def client_in(client: Any, importer: Any, registered: Any, countries: Any) -> Any:
    client.force_login(importer)
    return client


def upload(client: Any, data: bytes, name: str, **extra: Any) -> Any:
    payload = {
        "file": SimpleUploadedFile(name, data),
        "mode": "upsert",
        "key_field": "email",
        "dates": "dmy",
        "decimal_separator": "",
        **extra,
    }
    return client.post(url("upload"), payload, headers={"HX-Request": "true"})


def token_of(response: Any) -> str:
    match = re.search(r'name="token" value="([0-9a-f]+)"', response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


ROWS = [
    ["Name", "E-mail", "Country", "Joined"],
    ["Ann", "ann@example.com", "ES", "05/03/2024"],
    ["Bob", "bad-email", "FR", "06/03/2024"],
    ["Cid", "cid@example.com", "XX", "07/03/2024"],
]


def test_page_requires_login_and_permission(
    client: Any, django_user_model: Any, registered: Any
) -> None:
    assert client.get(url()).status_code == 302
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get(url()).status_code == 403


def test_unregistered_model_is_not_exposed(client: Any, importer: Any) -> None:
    client.force_login(importer)
    response = client.get(reverse("bulkops:import", kwargs={"model": "auth.user"}))
    assert response.status_code == 404


def test_upload_shows_preview_with_mapping_and_errors(client_in: Any) -> None:
    response = upload(client_in, xlsx_bytes(ROWS), "people.xlsx")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Check “people.xlsx”" in html
    assert '<option value="email" selected>' in html
    assert "2 rows have errors and will not be imported" in html
    assert "Row 3, column &quot;E-mail&quot;: Enter a valid email address." in html
    assert "Row 4, column &quot;Country&quot;: No country with code &quot;XX&quot;." in html
    assert Customer.objects.count() == 0


def test_preview_remaps_columns(client_in: Any) -> None:
    rows = [["Who", "Mail"], ["Ann", "ann@example.com"]]
    first = upload(client_in, xlsx_bytes(rows), "p.xlsx")
    assert "None of the column headers match" in first.content.decode()
    response = client_in.post(
        url("preview"),
        {
            "token": token_of(first),
            "mapping": "1",
            "map_0": "name",
            "map_1": "email",
            "mode": "upsert",
            "key_field": "email",
            "dates": "dmy",
        },
    )
    html = response.content.decode()
    assert "No errors found." in html
    assert '<option value="name" selected>' in html


def test_confirm_runs_import_and_shows_result(
    client_in: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = upload(client_in, xlsx_bytes(ROWS), "people.xlsx")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(
            url("confirm"),
            {
                "token": token_of(first),
                "mapping": "1",
                "map_0": "name",
                "map_1": "email",
                "map_2": "country",
                "map_3": "joined",
                "mode": "upsert",
                "key_field": "email",
                "dates": "dmy",
            },
        )
    assert response.status_code == 200
    assert "bulkops-progress" in response.content.decode()
    task = BulkTask.objects.get()
    assert task.params["mapping"] == {"0": "name", "1": "email", "2": "country", "3": "joined"}
    runner.run(task.pk)
    assert list(Customer.objects.values_list("email", flat=True)) == ["ann@example.com"]
    result = client_in.get(reverse("bulkops:import-result", kwargs={"pk": task.pk}))
    html = result.content.decode()
    assert '<dd class="bulkops-created">1</dd>' in html
    assert '<dd class="bulkops-failed">2</dd>' in html
    assert "Download the rows to fix" in html
    download = client_in.get(reverse("bulkops:task-download", kwargs={"pk": task.pk}))
    assert download.status_code == 200
    # The staged upload is gone once the task holds its own copy.
    assert client_in.post(url("confirm"), {"token": token_of(first)}).status_code == 404


def test_result_of_someone_elses_task_is_404(
    client_in: Any,
    django_user_model: Any,
    dummy_backend: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = upload(client_in, xlsx_bytes(ROWS), "people.xlsx")
    with django_capture_on_commit_callbacks(execute=True):
        client_in.post(
            url("confirm"),
            {"token": token_of(first), "mode": "upsert", "key_field": "email", "dates": "dmy"},
        )
    task = BulkTask.objects.get()
    client_in.force_login(django_user_model.objects.create_user("other"))
    assert (
        client_in.get(reverse("bulkops:import-result", kwargs={"pk": task.pk})).status_code == 404
    )


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (cfb_bytes("EncryptionInfo"), "secret.xlsx", "is protected with a password"),
        (b"%PDF-1.4", "scan.pdf", "which cannot be imported"),
        (csv_bytes("a\n" + "1\n" * 10), "empty.xlsx", "is named like an Excel workbook"),
    ],
)
def test_bad_upload_shows_message_and_stores_nothing(
    client_in: Any, data: bytes, name: str, message: str
) -> None:
    response = upload(client_in, data, name)
    assert message in response.content.decode()
    assert 'name="token"' not in response.content.decode()
    assert Customer.objects.count() == 0


def test_upload_over_size_limit_refused_before_reading(
    client_in: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.http.multipartparser import MultiPartParser

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(MultiPartParser, "parse", never)
    settings.BULKOPS = {**settings.BULKOPS, "MAX_UPLOAD_SIZE": 1024}
    response = upload(client_in, b"a\n" + b"x" * 200_000 + b"\n", "big.csv")
    assert response.status_code == 413
    assert "the largest file accepted is 1 KB" in response.content.decode()
    assert not [t for t in client_in.session.get("bulkops_imports", {})]


def test_csrf_is_enforced(client_in: Any, importer: Any) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(importer)
    response = strict.post(url("upload"), {"file": SimpleUploadedFile("a.csv", b"a\n1\n")})
    assert response.status_code == 403


def test_update_mode_needs_a_key(client_in: Any) -> None:
    response = upload(client_in, xlsx_bytes(ROWS), "p.xlsx", key_field="", mode="update")
    assert "Choose the column that identifies existing rows." in response.content.decode()


def test_abandoned_uploads_are_purged(client_in: Any) -> None:
    import datetime

    from django.core.files.storage import default_storage

    from bulkops.views.imports import purge_staged_uploads

    first = upload(client_in, xlsx_bytes(ROWS), "left-behind.xlsx")
    token = token_of(first)
    staged = client_in.session["bulkops_imports"][token]["path"]
    assert default_storage.exists(staged)
    assert purge_staged_uploads(datetime.timedelta(days=1)) == 0
    assert purge_staged_uploads(datetime.timedelta(seconds=-1)) >= 1
    assert not default_storage.exists(staged)


def test_upload_with_understated_length_is_cut_off(client_in: Any, settings: Any) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "MAX_UPLOAD_SIZE": 2048}
    data = xlsx_bytes([["a"]] + [[f"{i}" * 50] for i in range(200)])
    # Under the declared-length margin, so only the upload handler can stop it.
    response = client_in.post(
        url("upload"),
        {"file": SimpleUploadedFile("big.xlsx", data), "mode": "create", "dates": "dmy"},
    )
    assert response.status_code == 413
    assert "larger than 2 KB" in response.content.decode()
    assert not [t for t in client_in.session.get("bulkops_imports", {})]


def test_choose_another_sheet(
    client_in: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    data = xlsx_bytes(
        [["Notes"], ["this sheet is not the data"]],
        title="Read me",
        extra_sheets=[("Customers", [["Name", "Email"], ["Ann", "ann@example.com"]], "visible")],
    )
    first = upload(client_in, data, "two-sheets.xlsx")
    html = first.content.decode()
    assert '<option value="Customers">Customers</option>' in html
    assert "None of the column headers match" in html
    token = token_of(first)
    response = client_in.post(
        url("preview"),
        {
            "token": token,
            "sheet": "Customers",
            "mode": "upsert",
            "key_field": "email",
            "dates": "dmy",
        },
    )
    assert "No errors found." in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client_in.post(
            url("confirm"),
            {
                "token": token,
                "sheet": "Customers",
                "mode": "upsert",
                "key_field": "email",
                "dates": "dmy",
            },
        )
    task = BulkTask.objects.get()
    assert task.params["sheet"] == "Customers"
    runner.run(task.pk)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Ann"]


def test_all_or_nothing_says_what_it_does_to_the_site_on_sqlite() -> None:
    from django.db import connections, router

    from bulkops.views.import_forms import ImportOptionsForm
    from tests.testapp.models import Customer

    form = ImportOptionsForm(model=Customer, key_fields=[])
    help_text = str(form.fields["atomic"].help_text)
    if connections[router.db_for_write(Customer)].vendor == "sqlite":
        assert "one change happen at a time" in help_text
        assert form.fields["atomic"].widget.attrs["aria-describedby"] == "id_atomic_help"
    else:
        assert help_text == ""
