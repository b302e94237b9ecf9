"""The upload step: one parse, the real row count, safe names, clear 4xx refusals."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import default_storage

from bulkops import runner
from bulkops.models import BulkTask

from .files import csv_bytes
from .models_app.models import Customer
from .test_import_views import check_html, preview, token_of, upload, url
from .test_upload_budget import LAUGHS
from .workbooks import cells_xml, raw_xlsx, sheet_xml

pytestmark = pytest.mark.django_db

MAPPING = {"mapping": "1", "map_0": "name", "map_1": "email"}
OPTIONS = {"mode": "upsert", "key_field": "email", "dates": "dmy"}


@pytest.fixture
def client_in(client: Any, importer: Any, registered: Any, countries: Any) -> Any:
    client.force_login(importer)
    return client


def people(count: int) -> list[list[Any]]:
    return [["Name", "E-mail"], *[[f"P{i}", f"p{i}@example.com"] for i in range(count)]]


def the_import() -> BulkTask:
    """The import task (the upload's dry-run check is a task too)."""
    (task,) = [t for t in BulkTask.objects.all() if not t.params.get("dry_run")]
    return task


def confirm(client: Any, token: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(url("confirm"), {"token": token, **MAPPING, **OPTIONS})


def test_preview_reads_the_stored_rows_not_the_workbook(client_in: Any) -> None:
    first = upload(client_in, raw_xlsx([("S", sheet_xml(cells_xml(people(3))))]), "p.xlsx")
    token = token_of(first)
    staged = client_in.session["bulkops_imports"][token]
    assert staged["rows"] == 3
    # The workbook itself is gone: the preview can only be built from the stored rows.
    default_storage.delete(staged["original"])
    response = preview(client_in, {"token": token, **MAPPING, **OPTIONS})
    assert response.status_code == 200
    assert "3 rows" in response.content.decode()
    # The check, a dry run of the whole file, read the stored rows too.
    html = check_html(client_in)
    assert "p2@example.com" in html
    assert '<dd class="bulkops-will-create">3</dd>' in html


def test_lying_dimension_of_5000_rows_is_queued_not_run_inline(
    client_in: Any, settings: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SYNC_THRESHOLD": 100}
    body = cells_xml(people(5000))
    first = upload(client_in, raw_xlsx([("S", sheet_xml(body, dimension="A1:B2"))]), "big.xlsx")
    confirm(client_in, token_of(first), django_capture_on_commit_callbacks)
    task = the_import()
    assert task.total == 5000
    assert task.status == BulkTask.Status.PENDING  # not run inside the request
    # Handed to the queue, like the dry-run check before it: 5,000 rows is past the
    # check's inline limit too, whatever the file's dimension claims.
    check = BulkTask.objects.get(params__dry_run=True)
    assert check.total == 5000
    assert dummy_backend == [check.pk, task.pk]
    runner.run(task.pk)
    assert Customer.objects.count() == 5000


@pytest.mark.parametrize("name", ["é" * 134 + ".xlsx", "a" * 300 + ".xlsx", "名前" * 70 + ".xlsx"])
def test_any_file_name_is_stored_safely_and_shown_as_given(
    client_in: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any, name: str
) -> None:
    rows = [*people(2), ["Bad", "not-an-email"]]
    first = upload(client_in, raw_xlsx([("S", sheet_xml(cells_xml(rows)))]), name)
    assert first.status_code == 200
    # Shown as given (Django's own upload object keeps at most 255 characters).
    shown = name if len(name) <= 255 else name[: 255 - 5] + ".xlsx"
    assert shown in first.content.decode()
    confirm(client_in, token_of(first), django_capture_on_commit_callbacks)
    task = the_import()
    runner.run(task.pk)
    task.refresh_from_db()
    assert task.params["filename"] == shown
    # The worker reads the table the upload step stored, not the workbook again.
    assert str(task.input_file.name).endswith(".bulkops-rows")
    assert task.params["stored"] is True
    assert task.failed_count == 1
    assert task.result_file  # the error report was written, not lost
    assert len(str(task.result_file.name).rsplit("/", 1)[-1].encode()) <= 120
    assert "/" not in task.message


def test_entity_amplification_upload_is_a_400_with_a_message(client_in: Any) -> None:
    data = raw_xlsx([("S", sheet_xml(cells_xml(people(1)), prolog=LAUGHS))])
    response = upload(client_in, data, "laughs.xlsx")
    assert response.status_code == 400
    assert "declares XML entities" in response.content.decode()


def test_broken_utf8_upload_is_a_400_naming_the_line(client_in: Any) -> None:
    data = "Name,E-mail\nJosé,j@example.com\n".encode() + b"Ren\xe9,r@example.com\n"
    response = upload(client_in, data, "people.csv")
    assert response.status_code == 400
    html = response.content.decode()
    assert "line 3" in html and "UTF-8" in html


def test_encoding_chosen_at_upload_is_used(client_in: Any) -> None:
    data = csv_bytes("Name,E-mail\nŁukasz Żółć,l@example.com\n", "cp1250")
    response = upload(client_in, data, "people.csv", encoding="cp1250")
    assert response.status_code == 200
    assert "Łukasz Żółć" in check_html(client_in)


def test_detected_encoding_is_named_in_the_preview(client_in: Any) -> None:
    data = csv_bytes("Name,E-mail\n山田太郎,y@example.com\n佐藤花子,s@example.com\n", "shift_jis")
    html = upload(client_in, data, "people.csv").content.decode()
    assert "山田太郎" in check_html(client_in)
    assert "Shift-JIS (Japanese), detected from its content" in html


def test_sheet_named_at_upload_is_read(client_in: Any) -> None:
    data = raw_xlsx(
        [("Other", sheet_xml(cells_xml([["x"], [1]]))), ("People", sheet_xml(cells_xml(people(2))))]
    )
    html = upload(client_in, data, "p.xlsx", sheet="People").content.decode()
    assert "sheet “People”" in html
    assert "p1@example.com" in check_html(client_in)


def test_lying_dimension_submitted_from_code_is_queued_too(
    importer: Any,
    registered: Any,
    settings: Any,
    dummy_backend: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.core.files.base import ContentFile

    import bulkops

    settings.BULKOPS = {**settings.BULKOPS, "SYNC_THRESHOLD": 100}
    data = raw_xlsx([("S", sheet_xml(cells_xml(people(5000)), dimension="A1:B2"))])
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit(
            "import",
            user=importer,
            model=Customer,
            params={"filename": "big.xlsx", "mode": "create"},
            input_file=ContentFile(data, name="big.xlsx"),
        )
    task.refresh_from_db()
    assert (task.total, task.status) == (5000, BulkTask.Status.PENDING)
    assert dummy_backend == [task.pk]


def test_an_upload_that_imitates_a_stored_table_is_read_as_what_its_name_says(
    client_in: Any,
) -> None:
    from bulkops.tabular.stored import MAGIC

    forged = MAGIC + b'{"headers": ["Name", "E-mail"], "row_count": 1}\n[[2, ["x", "y"]]]\n'
    assert upload(client_in, forged, "forged.xlsx").status_code == 400  # not a workbook
    as_csv = upload(client_in, forged, "forged.csv")
    assert as_csv.status_code == 200
    assert "BULKOPS-TABLE 1" in as_csv.content.decode()  # plain text in a CSV, nothing more


def test_a_file_submitted_from_code_is_never_taken_for_a_stored_table(
    importer: Any, registered: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.files.base import ContentFile

    import bulkops
    from bulkops.tabular.stored import MAGIC

    forged = MAGIC + b'{"headers": ["Name", "E-mail"], "row_count": 1}\n[[2, ["x", "y"]]]\n'
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit(
            "import",
            user=importer,
            model=Customer,
            params={"filename": "forged.xlsx", "mode": "create", "stored": False},
            input_file=ContentFile(forged, name="forged.xlsx"),
        )
    with pytest.raises(Exception):  # noqa: B017 - the runner re-raises what failed the task
        runner.run(task.pk)
    task.refresh_from_db()
    assert task.status == BulkTask.Status.FAILED
    assert "is named like an Excel workbook (.xlsx)" in task.message
    assert not Customer.objects.exists()
