"""The ``import`` operation end to end: counts, row errors, upsert, resume, hostile files."""

from __future__ import annotations

import datetime
import io
import math
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bulkops import api, runner
from bulkops.models import BulkTask
from bulkops.operations import upsert
from bulkops.tabular import open_table

from .files import cfb_bytes, csv_bytes, xlsx_bytes
from .models_app.models import Country, Customer, Ticket
from .test_hostile import _bomb_xlsx

pytestmark = pytest.mark.django_db

HEADERS = ["Name", "Email", "Country", "Joined", "Balance", "Active"]


def customer_rows(count: int, start: int = 0) -> list[list[Any]]:
    return [
        [
            f"Customer {i}",
            f"c{i}@example.com",
            ("ES", "FR", "PT")[i % 3],
            datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 300),
            i * 1.5,
            i % 2 == 0,
        ]
        for i in range(start, start + count)
    ]


BAD = {
    # spreadsheet row number -> (column index, bad value, expected message)
    11: (1, "not-an-email", 'Column "Email": Enter a valid email address.'),
    250: (2, "XX", 'Column "Country": No country with code "XX".'),
    999: (
        3,
        "31/02/2024",
        'Column "Joined": "31/02/2024" is not a date. Use YYYY-MM-DD or DD/MM/YYYY.',
    ),
    1500: (0, None, 'Column "Name": This field cannot be blank.'),
    2222: (4, "12,3,4", 'Column "Balance": "12,3,4" is not a number.'),
    2900: (
        0,
        "x" * 101,
        'Column "Name": Ensure this value has at most 100 characters (it has 101).',
    ),
}


def test_import_of_thousands_of_rows_with_bad_rows(countries: Any, run_import: Any) -> None:
    rows = customer_rows(3000)
    for number, (column, value, _) in BAD.items():
        rows[number - 2][column] = value
    rows[3001 - 2][1] = "c5@example.com"  # the same e-mail as row 7
    task = run_import(xlsx_bytes([HEADERS, *rows]), "customers.xlsx", mode="upsert", chunk_size=500)

    assert task.status == BulkTask.Status.SUCCEEDED
    assert task.result["created"] == 2993
    assert (task.processed, task.succeeded_count, task.failed_count) == (3000, 2993, 7)
    assert Customer.objects.count() == 2993
    errors = {e.row: e for e in task.errors.all()}
    assert sorted(errors) == [*sorted(BAD), 3001]
    for number, (_, _, message) in BAD.items():
        assert errors[number].message == message.split(": ", 1)[1]
        assert errors[number].field == message.split('"')[1]
    assert (
        errors[3001].message
        == 'An earlier row of this file has the same e-mail address "c5@example.com".'
    )
    assert errors[11].values["Email"] == "not-an-email"

    with open_table(io.BytesIO(task.result_file.read()), filename="report.xlsx") as report:
        assert report.headers == [*HEADERS, "Errors"]
        got = list(report.rows())
    assert [values[1] for _, values in got] == [rows[n - 2][1] for n in [*sorted(BAD), 3001]]
    assert got[0][1][6] == BAD[11][2]
    ann = Customer.objects.get(email="c2@example.com")
    assert ann.country is not None
    assert (ann.country.code, ann.joined, ann.balance, ann.active) == (
        "PT",
        datetime.date(2024, 1, 3),
        Decimal("3.00"),
        True,
    )


def test_upsert_creates_updates_and_skips_unchanged(countries: Any, run_import: Any) -> None:
    spain = Country.objects.get(code="ES")
    Customer.objects.bulk_create(
        Customer(
            name=f"Old {i}",
            email=f"c{i}@example.com",
            country=spain,
            visits=7,
            balance=Decimal("1.00"),
            phone="keep",
        )
        for i in range(100)
    )
    file_rows = [[f"Old {i}", f"c{i}@example.com", "ES", 1] for i in range(50)]  # unchanged
    file_rows += [[f"New name {i}", f"c{i}@example.com", "FR", 2] for i in range(50, 100)]
    file_rows += [[f"Fresh {i}", f"c{i}@example.com", "PT", 3] for i in range(100, 150)]
    task = run_import(
        xlsx_bytes([["Name", "Email", "Country", "Balance"], *file_rows]),
        "c.xlsx",
        mode="upsert",
        key_fields=["email"],
        chunk_size=40,
    )
    assert task.result["created"] == 50 and task.result["updated"] == 50
    assert task.result["skipped"] == 50 and task.failed_count == 0
    assert Customer.objects.count() == 150
    updated = Customer.objects.get(email="c60@example.com")
    assert updated.country is not None
    assert (updated.name, updated.country.code, updated.balance) == (
        "New name 60",
        "FR",
        Decimal(2),
    )
    assert (updated.visits, updated.phone) == (7, "keep")  # columns not in the file untouched
    fresh = Customer.objects.get(email="c120@example.com")
    assert (fresh.visits, fresh.status, fresh.active) == (None, "active", True)  # model defaults


def test_update_only_reports_unknown_rows(countries: Any, run_import: Any) -> None:
    Customer.objects.create(name="Ann", email="ann@example.com")
    data = csv_bytes("email,name\nann@example.com,Ann B\nnobody@example.com,Nobody\n")
    task = run_import(data, "c.csv", mode="update", key_fields=["email"])
    assert task.result["updated"] == 1 and task.failed_count == 1
    assert Customer.objects.get().name == "Ann B"
    error = task.errors.get()
    assert (error.row, error.message) == (
        3,
        'No customer with e-mail address "nobody@example.com" exists to update.',
    )


def test_create_only_reports_existing_rows(countries: Any, run_import: Any) -> None:
    Customer.objects.create(name="Ann", email="ann@example.com")
    data = csv_bytes("email,name\nann@example.com,Ann B\nbob@example.com,Bob\n")
    task = run_import(data, "c.csv", mode="create", key_fields=["email"])
    assert task.result["created"] == 1 and task.failed_count == 1
    assert Customer.objects.get(email="ann@example.com").name == "Ann"
    assert (
        task.errors.get().message
        == 'A customer with e-mail address "ann@example.com" already exists.'
    )


def test_one_select_and_one_write_per_chunk(
    countries: Any, run_import: Any, monkeypatch: pytest.MonkeyPatch, fixed_chunks: None
) -> None:
    from bulkops.operations.statements import ChunkStatement

    writes: list[int] = []
    original = ChunkStatement.execute

    def counting(self: Any, records: Any, **kwargs: Any) -> None:
        writes.append(len(records))
        original(self, records, **kwargs)

    monkeypatch.setattr(ChunkStatement, "execute", counting)
    data = xlsx_bytes([HEADERS, *customer_rows(1000)])
    with CaptureQueriesContext(connection) as queries:
        task = run_import(data, "c.xlsx", chunk_size=250)
    assert task.result["created"] == 1000
    assert writes == [250, 250, 250, 250]
    table = Customer._meta.db_table
    inserts = [q for q in queries if q["sql"].startswith(f'INSERT INTO "{table}"')]
    # PostgreSQL COPYs new rows (not in Django's query log). SQLite gets one INSERT per
    # chunk, split only where its limit on query parameters forces it (999 before
    # SQLite 3.32, as bundled with Python 3.10).
    if connection.vendor == "postgresql":
        assert inserts == []
    else:
        columns = inserts[0]["sql"].split("(", 1)[1].split(")", 1)[0].count(",") + 1
        limit = connection.features.max_query_params or 250 * columns
        assert len(inserts) == 4 * math.ceil(250 * columns / limit)
    selects = [
        q for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    ]
    lookups = [q for q in queries if f'FROM "{Country._meta.db_table}"' in q["sql"]]
    assert len(selects) == 0  # new rows: appended, the unique key would refuse a known one
    assert len(lookups) == 1  # country codes are cached after the first chunk
    # A second file that updates: its first chunk is refused, then every chunk looks
    # up its keys with one SELECT and is written with one statement.
    writes.clear()
    rows = customer_rows(1000)
    for row in rows:
        row[0] = row[0].upper()
    with CaptureQueriesContext(connection) as queries:
        task = run_import(xlsx_bytes([HEADERS, *rows]), "c.xlsx", chunk_size=250)
    assert (task.result["created"], task.result["updated"]) == (0, 1000)
    assert writes == [250, 250, 250, 250, 250]
    selects = [
        q for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    ]
    assert len(selects) == 4


def test_database_refusal_isolated_to_its_row(run_import: Any) -> None:
    rows = [[f"Show {i}", 600 if i in (37, 38) else 10] for i in range(100)]
    task = run_import(
        xlsx_bytes([["Title", "Seats"], *rows]), "t.xlsx", model=Ticket, mode="create"
    )
    assert task.result["created"] == 98 and task.failed_count == 2
    assert Ticket.objects.count() == 98
    assert sorted(task.errors.values_list("row", flat=True)) == [39, 40]
    assert task.errors.first().message.startswith("The database refused this row:")  # type: ignore[union-attr]


def test_resume_after_interruption_has_no_duplicate_and_no_gap(
    run_import: Any, monkeypatch: pytest.MonkeyPatch, fixed_chunks: None
) -> None:
    rows = [[f"Show {i}", i % 400] for i in range(1000)]
    original = upsert.ChunkWriter.write
    calls = {"n": 0}

    def crash_on_third_chunk(self: Any, clean_rows: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            original(self, clean_rows, **kwargs)  # written, but its transaction never commits
            raise ConnectionError("worker killed")
        return original(self, clean_rows, **kwargs)

    monkeypatch.setattr(upsert.ChunkWriter, "write", crash_on_third_chunk)
    task = run_import(
        xlsx_bytes([["Title", "Seats"], *rows]),
        "t.xlsx",
        model=Ticket,
        mode="create",
        chunk_size=200,
        expect_raise=True,
    )
    assert task.status == BulkTask.Status.FAILED
    assert Ticket.objects.count() == 400
    assert task.checkpoint["state"]["offset"] == 400

    api.retry(task)
    runner.run(task.pk)
    task.refresh_from_db()
    assert task.status == BulkTask.Status.SUCCEEDED
    assert Ticket.objects.count() == 1000
    assert sorted(Ticket.objects.values_list("title", flat=True)) == sorted(
        f"Show {i}" for i in range(1000)
    )
    assert (task.processed, task.succeeded_count, task.result["created"]) == (1000, 1000, 1000)


def test_all_or_nothing_writes_nothing_when_a_row_fails(countries: Any, run_import: Any) -> None:
    rows = customer_rows(300)
    rows[150][1] = "broken"
    task = run_import(xlsx_bytes([HEADERS, *rows]), "c.xlsx", atomic=True, chunk_size=100)
    assert Customer.objects.count() == 0
    assert task.failed_count == 1 and task.result["all_or_nothing_refused"] is True
    assert task.result["created"] == 0
    assert (task.status, task.outcome) == ("succeeded", "failed"), "nothing was imported"
    assert task.errors.get().row == 152
    rows[150][1] = "fixed@example.com"
    task = run_import(xlsx_bytes([HEADERS, *rows]), "c.xlsx", atomic=True, chunk_size=100)
    assert Customer.objects.count() == 300 and task.result["created"] == 300


HOSTILE = [
    (
        cfb_bytes("EncryptionInfo", "EncryptedPackage"),
        "c.xlsx",
        '"c.xlsx" is protected with a password. Remove the password (in Excel: File > Info > '
        "Protect Workbook) and upload it again.",
    ),
    (
        b"name,email\nx,y\n",
        "c.xlsx",
        '"c.xlsx" is named like an Excel workbook (.xlsx) but its content is not a spreadsheet. '
        "Save it in the right format and upload it again.",
    ),
    (
        xlsx_bytes([["Name"] + [None] * 16382 + ["x"]]),
        "wide.xlsx",
        '"wide.xlsx" has values in 16,384 columns (A to XFD); the most accepted is 200. '
        "Delete the unused columns and upload it again.",
    ),
    (
        csv_bytes("Phone,Country\n1,ES\n"),
        "c.csv",
        'The file has no column for "name", "e-mail address".',
    ),
    (
        csv_bytes("Name,Email,E-mail address\n"),
        "c.csv",
        'The columns "Email" and "E-mail address" both fill e-mail address; keep only one.',
    ),
]


def _valid_workbook() -> bytes:
    return xlsx_bytes([HEADERS, *customer_rows(200)])


HOSTILE += [
    (
        _valid_workbook()[: len(_valid_workbook()) // 2],
        "cut.xlsx",
        '"cut.xlsx" is damaged and cannot be read as an Excel workbook (.xlsx). Open it in '
        "your spreadsheet program, save it again and upload the new copy.",
    ),
    (
        _bomb_xlsx(40 * 1024 * 1024),
        "bomb.xlsx",
        '"bomb.xlsx" would expand to far more data than a spreadsheet of its size holds '
        "and was refused as unsafe.",
    ),
]


def test_an_oversized_file_fails_with_message_and_leaves_table_unchanged(
    countries: Any, run_import: Any, settings: Any
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "MAX_UPLOAD_SIZE": 1024 * 1024}
    Customer.objects.create(name="Existing", email="keep@example.com")
    before = list(Customer.objects.values_list("pk", "name", "email"))
    data = csv_bytes("Name,Email\n" + "".join(f"n{i},e{i}@x.io\n" for i in range(80_000)))
    task = run_import(data, "big.csv", expect_raise=True)
    assert task.status == BulkTask.Status.FAILED
    assert task.message.startswith('"big.csv" is ')
    assert task.message.endswith("the largest file accepted is 1 MB.")
    assert list(Customer.objects.values_list("pk", "name", "email")) == before


@pytest.mark.parametrize(("data", "filename", "message"), HOSTILE)
def test_malformed_files_fail_with_message_and_leave_table_unchanged(
    countries: Any, run_import: Any, data: bytes, filename: str, message: str
) -> None:
    Customer.objects.create(name="Existing", email="keep@example.com")
    before = list(Customer.objects.values_list("pk", "name", "email"))
    task = run_import(data, filename, expect_raise=True)
    assert task.status == BulkTask.Status.FAILED
    assert task.message == message
    assert list(Customer.objects.values_list("pk", "name", "email")) == before


def test_total_ends_at_rows_read(countries: Any, run_import: Any) -> None:
    # Blank rows in the sheet and a CSV cell spanning lines make the first count too high.
    rows: list[list[Any]] = [
        HEADERS,
        *customer_rows(5),
        [None] * 6,
        [None] * 6,
        *customer_rows(5, 5),
    ]
    task = run_import(xlsx_bytes(rows), "gaps.xlsx")
    assert (task.total, task.processed, task.percent) == (10, 10, 100)
    data = csv_bytes('name,email\n"Ann\nSmith",ann@example.com\nBob,bob@example.com\n')
    task = run_import(data, "multi.csv")
    assert (task.total, task.processed, task.percent) == (2, 2, 100)
    assert Customer.objects.get(email="ann@example.com").name == "Ann\nSmith"


def test_permissions_follow_the_mode(
    countries: Any, django_user_model: Any, dummy_backend: Any
) -> None:
    from django.contrib.auth.models import Permission
    from django.core.exceptions import PermissionDenied
    from django.core.files.base import ContentFile

    import bulkops

    editor = django_user_model.objects.create_user("editor")
    editor.user_permissions.add(
        Permission.objects.get(content_type__app_label="tabular_models", codename="change_customer")
    )
    data = csv_bytes("email,name\nann@example.com,Ann\n")
    task = bulkops.submit(
        "import",
        user=editor,
        model=Customer,
        input_file=ContentFile(data, "c.csv"),
        params={"filename": "c.csv", "mode": "update", "key_fields": ["email"]},
    )
    assert task.params["mode"] == "update"
    for mode in ("create", "upsert"):
        with pytest.raises(PermissionDenied):
            bulkops.submit(
                "import",
                user=editor,
                model=Customer,
                input_file=ContentFile(data, "c.csv"),
                params={"filename": "c.csv", "mode": mode, "key_fields": ["email"]},
            )
    nobody = django_user_model.objects.create_user("nobody")
    with pytest.raises(PermissionDenied):
        bulkops.submit(
            "import",
            user=nobody,
            model=Customer,
            input_file=ContentFile(data, "c.csv"),
            params={"filename": "c.csv", "mode": "update", "key_fields": ["email"]},
        )


def test_next_chunk_is_cleaned_while_postgres_stores_the_current_one(
    countries: Any, run_import: Any, monkeypatch: pytest.MonkeyPatch, fixed_chunks: None
) -> None:
    from bulkops.operations.prefetch import Prefetcher
    from bulkops.tabular.definition import BoundImport

    cleaned: list[int] = []
    served: list[int] = []
    clean_cells, serve = BoundImport.clean_cells, Prefetcher.clean

    def counting_clean(self: Any, rows: Any) -> Any:
        rows = list(rows)
        cleaned.append(rows[0][0])
        return clean_cells(self, rows)

    def counting_serve(self: Any, items: Any) -> Any:
        if self.ready is not None and self.ready.first_row == items[0][0]:
            served.append(items[0][0])
        return serve(self, items)

    monkeypatch.setattr(BoundImport, "clean_cells", counting_clean)
    monkeypatch.setattr(Prefetcher, "clean", counting_serve)
    rows = customer_rows(1000)
    rows[600][1] = "broken"
    task = run_import(xlsx_bytes([HEADERS, *rows]), "c.xlsx", chunk_size=250)
    assert (task.result["created"], task.failed_count) == (999, 1)
    assert task.errors.get().row == 602
    assert cleaned == [2, 252, 502, 752]  # each chunk cleaned exactly once
    expected = [252, 502, 752] if connection.vendor == "postgresql" else []
    assert served == expected


def test_prefetcher_falls_back_when_a_batch_does_not_match(countries: Any, registered: Any) -> None:
    from bulkops.operations.prefetch import Prefetcher
    from bulkops.tabular.definition import definition_for

    bound = definition_for(Customer).bind(HEADERS)
    source = iter(list(enumerate(customer_rows(10), start=2)))
    prefetcher = Prefetcher(source, bound, lambda: 4)
    assert [next(prefetcher)[0] for _ in range(4)] == [2, 3, 4, 5]
    prefetcher.fetch_ahead()
    assert prefetcher.ready is not None and prefetcher.ready.first_row == 6
    items = [next(prefetcher) for _ in range(3)]  # a batch of another size
    assert len(prefetcher.clean(items).rows) == 3  # cleaned afresh, not from the prefetch
    assert prefetcher.ready is None
    assert [next(prefetcher)[0] for _ in range(3)] == [9, 10, 11]
