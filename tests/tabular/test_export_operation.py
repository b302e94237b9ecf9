"""The ``export`` operation: a queryset to a file, formulas neutralised, re-importable."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

import bulkops
from bulkops import runner
from bulkops.models import BulkTask

from .models_app.models import Country, Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(countries: Any) -> None:
    spain = Country.objects.get(code="ES")
    Customer.objects.create(
        name='=HYPERLINK("http://evil","x")',
        email="evil@example.com",
        country=spain,
        balance=Decimal("-12.50"),
        status="paused",
        phone="+34 600",
        joined=datetime.date(2024, 3, 5),
        last_seen=datetime.datetime(2024, 7, 1, 10, tzinfo=datetime.timezone.utc),
    )
    Customer.objects.create(name="@SUM(1)", email="at@example.com", balance=Decimal("7"))
    Customer.objects.create(name="Plain", email="plain@example.com", visits=3)


def export(importer: Any, dummy_backend: Any, capture: Any, **params: Any) -> BulkTask:
    with capture(execute=True):
        task = bulkops.submit(
            "export", user=importer, queryset=Customer.objects.order_by("pk"), params=params
        )
    runner.run(task.pk)
    task.refresh_from_db()
    return task


def test_export_xlsx(
    customers: Any,
    importer: Any,
    dummy_backend: Any,
    registered: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    task = export(importer, dummy_backend, django_capture_on_commit_callbacks, format="xlsx")
    assert task.status == BulkTask.Status.SUCCEEDED
    assert task.result["rows"] == 3 and task.succeeded_count == 3
    assert (task.result_file.name or "").endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(task.result_file.read())).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == [
        "Name",
        "E-mail address",
        "Phone",
        "Country",
        "Joined",
        "Balance",
        "Active",
        "Status",
        "Visits",
        "Last seen",
    ]
    assert rows[1][0] == '=HYPERLINK("http://evil","x")'  # as typed, in a text cell
    assert sheet["A2"].data_type == "s"
    assert rows[1][2] == "+34 600"  # a phone number is not a formula
    assert rows[1][3] == "ES"  # foreign key by its natural key
    assert rows[1][5] == -12.5 and sheet["F2"].data_type == "n"
    assert rows[1][7] == "On hold"  # choice label
    assert rows[1][9] == datetime.datetime(2024, 7, 1, 10)  # wall time in the current zone (UTC)
    assert rows[2][0] == "@SUM(1)"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_xlsx_export_imports_back_unchanged(
    countries: Any,
    importer: Any,
    dummy_backend: Any,
    run_import: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    texts = ["=1+1", "+1", "-2", "@SUM(A1)", '=HYPERLINK("http://evil","x")', "plain"]
    for i, text in enumerate(texts):
        Customer.objects.create(name=text, phone=text[:20], email=f"c{i}@example.com")
    before = list(Customer.objects.order_by("pk").values())
    task = export(importer, dummy_backend, django_capture_on_commit_callbacks, format="xlsx")
    data = task.result_file.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # no formula, in any spreadsheet

    imported = run_import(data, "customers.xlsx", mode="update", key_fields=["email"])
    assert imported.failed_count == 0
    assert imported.skipped_count == len(texts)  # every row already holds what the file says
    assert list(Customer.objects.order_by("pk").values()) == before


def test_export_csv_fields(
    customers: Any, importer: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    task = export(
        importer,
        dummy_backend,
        django_capture_on_commit_callbacks,
        format="csv",
        fields=["name", "country__name", "balance"],
    )
    data = task.result_file.read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["Name", "Country", "Balance"],
        ['\'=HYPERLINK("http://evil","x")', "Spain", "-12.50"],
        ["'@SUM(1)", "", "7.00"],
        ["Plain", "", "0.00"],
    ]


def test_export_bad_field_is_refused_at_submit(importer: Any, dummy_backend: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        bulkops.submit(
            "export",
            user=importer,
            queryset=Customer.objects.all(),
            params={"fields": ["password"]},
        )


def test_export_then_reimport_changes_nothing(
    customers: Any,
    importer: Any,
    dummy_backend: Any,
    registered: Any,
    run_import: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Customer.objects.filter(name__startswith=("=", "@")[0]).delete()
    Customer.objects.filter(name__startswith="@").delete()
    before = list(Customer.objects.values())
    task = export(importer, dummy_backend, django_capture_on_commit_callbacks, format="xlsx")
    again = run_import(task.result_file.read(), "export.xlsx", mode="upsert", key_fields=["email"])
    assert again.failed_count == 0, list(again.errors.values_list("message", flat=True))
    assert (again.result["created"], again.result["updated"], again.result["skipped"]) == (0, 0, 1)
    assert list(Customer.objects.values()) == before
