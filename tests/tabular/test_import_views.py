"""The import pages through Django's test client: upload, preview, mapping, confirm, result."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
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
    # A small file is checked inside the request, once it commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url("upload"), payload, headers={"HX-Request": "true"})


def check_html(client: Any) -> str:
    """The latest check, as the page loads it once the dry run has finished."""
    check = BulkTask.objects.filter(params__dry_run=True).latest("created_at")
    response = client.get(reverse("bulkops:import-check", kwargs={"pk": check.pk}))
    assert response.status_code == 200
    return str(response.content.decode())


def preview(client: Any, data: dict[str, Any]) -> Any:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url("preview"), data)


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
    html = check_html(client_in)
    assert "2 rows will not be imported" in html
    assert (
        "<strong>Row 3, column “E-mail”:</strong> "
        '<span class="bulkops-import-reason">Enter a valid email address.</span>'
    ) in html
    assert (
        "<strong>Row 4, column “Country”:</strong> "
        '<span class="bulkops-import-reason">No country with code &quot;XX&quot;.</span>'
    ) in html
    assert '<dd class="bulkops-will-create">1</dd>' in html
    assert Customer.objects.count() == 0


def test_preview_remaps_columns(client_in: Any) -> None:
    rows = [["Who", "Mail"], ["Ann", "ann@example.com"]]
    first = upload(client_in, xlsx_bytes(rows), "p.xlsx")
    assert "None of the column headers match" in first.content.decode()
    response = preview(
        client_in,
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
    assert "No row has an error." in check_html(client_in)
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
    task = BulkTask.objects.get(params__dry_run=False)
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
    task = BulkTask.objects.get(params__dry_run=False)
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
    preview(
        client_in,
        {
            "token": token,
            "sheet": "Customers",
            "mode": "upsert",
            "key_field": "email",
            "dates": "dmy",
        },
    )
    assert "No row has an error." in check_html(client_in)
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
    task = BulkTask.objects.get(params__dry_run=False)
    assert task.params["sheet"] == "Customers"
    runner.run(task.pk)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Ann"]


def test_check_marks_each_row_and_pages_through_the_file(client_in: Any, settings: Any) -> None:
    Customer.objects.create(name="Ann", email="ann@example.com")
    Customer.objects.create(name="Old name", email="bob@example.com")
    rows = [["Name", "E-mail"], ["Ann", "ann@example.com"], ["Bob", "bob@example.com"]]
    rows += [[f"New {i}", f"n{i}@example.com"] for i in range(60)]
    rows += [["Eve", "not-an-email"], ["Ann again", "ann@example.com"]]
    upload(client_in, xlsx_bytes(rows), "people.xlsx")
    html = check_html(client_in)
    assert '<dd class="bulkops-will-create">60</dd>' in html
    assert '<dd class="bulkops-will-update">1</dd>' in html
    assert '<dd class="bulkops-will-skip">1</dd>' in html
    assert '<dd class="bulkops-will-fail">2</dd>' in html
    marks = dict(re.findall(r'data-row="(\d+)" data-kind="(\w+)"', html))
    assert (marks["2"], marks["3"], marks["4"]) == ("unchanged", "changed", "new")
    assert len(marks) == 50 and "Page 1 of 2" in html
    changed = html[html.index('id="bulkops-row-3"') :]
    assert '<span class="bulkops-import-changed-fields">Name</span>' in changed[:600]

    check = BulkTask.objects.get(params__dry_run=True)
    page = client_in.get(
        reverse("bulkops:import-check", kwargs={"pk": check.pk}), {"page": 2}
    ).content.decode()
    marks = dict(re.findall(r'data-row="(\d+)" data-kind="(\w+)"', page))
    assert sorted(marks, key=int)[0] == "52" and marks["64"] == marks["65"] == "error"
    bad = page[page.index('id="bulkops-row-64"') :]
    cell = 'class="bulkops-import-bad-cell" aria-describedby="bulkops-reason-64">not-an-email'
    assert cell in bad
    assert "Enter a valid email address." in bad[: bad.index("</tr>")]
    again = page[page.index('id="bulkops-row-65"') :]
    assert "An earlier row of this file has the same e-mail address" in again[:800]
    assert Customer.objects.count() == 2  # the check wrote nothing


def test_check_of_someone_else_is_404(client_in: Any, django_user_model: Any) -> None:
    upload(client_in, xlsx_bytes(ROWS), "people.xlsx")
    check = BulkTask.objects.get(params__dry_run=True)
    client_in.force_login(django_user_model.objects.create_user("other"))
    response = client_in.get(reverse("bulkops:import-check", kwargs={"pk": check.pk}))
    assert response.status_code == 404


def test_all_or_nothing_check_says_nothing_will_be_imported(client_in: Any) -> None:
    upload(client_in, xlsx_bytes(ROWS), "people.xlsx", atomic="on")
    html = check_html(client_in)
    assert "data-refused" in html and "nothing will be imported" in html
    assert '<dd class="bulkops-will-create">0</dd>' in html
    assert '<dd class="bulkops-will-fail">2</dd>' in html


def test_rows_past_the_stored_errors_still_show_their_reason(client_in: Any, settings: Any) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "MAX_ERRORS": 1}
    upload(client_in, xlsx_bytes(ROWS), "people.xlsx")
    html = check_html(client_in)
    assert '<dd class="bulkops-will-fail">2</dd>' in html
    assert "1 more failing row is not listed" in html
    row = html[html.index('id="bulkops-row-4"') :]
    row = row[: row.index("</tr>")]
    assert 'data-kind="error"' in row and "No country with code &quot;XX&quot;." in row
    assert 'class="bulkops-import-bad-cell" aria-describedby="bulkops-reason-4">XX' in row
