"""The dry run is the import minus the write: same failing rows, same messages, same counts."""

from __future__ import annotations

from typing import Any

import pytest

from bulkops import api, runner
from bulkops.models import BulkTask
from bulkops.operations import upsert

from .files import csv_bytes, xlsx_bytes
from .models_app.models import Country, Product, Ticket

pytestmark = pytest.mark.django_db

HEADERS = ["SKU", "Number", "Barcode", "Name", "Country", "Price"]


def products(count: int, start: int = 0) -> list[list[Any]]:
    return [
        [f"IMP-{i}", i + 1, f"B{i}", f"Product {i}", None, f"{i}.50"] for i in range(start, count)
    ]


def errors_of(task: BulkTask) -> dict[int, tuple[str, str]]:
    return {int(e.row or 0): (e.field, e.message) for e in task.errors.order_by("row")}


def counts_of(task: BulkTask) -> dict[str, int]:
    result = task.result or {}
    return {
        "created": result.get("created", 0),
        "updated": result.get("updated", 0),
        "unchanged": task.skipped_count,
        "failed": task.failed_count,
    }


def check_then_import(run_import: Any, data: bytes, name: str, **params: Any) -> Any:
    """Dry run, assert nothing was written, then the import; both tasks."""
    model = params.pop("model", Product)
    before = list(model.objects.order_by("pk").values())
    dry = run_import(data, name, model=model, dry_run=True, **params)
    assert dry.status == BulkTask.Status.SUCCEEDED
    assert dry.result["dry_run"] is True
    assert list(model.objects.order_by("pk").values()) == before, "the dry run wrote"
    real = run_import(data, name, model=model, **params)
    return dry, real


def test_create_only_over_existing_rows_fails_them_all_in_the_dry_run(
    run_import: Any,
) -> None:
    Product.objects.bulk_create(Product(sku=f"IMP-{i}", name=f"Old {i}") for i in range(7))
    rows = products(10)
    dry, real = check_then_import(
        run_import, xlsx_bytes([HEADERS, *rows]), "p.xlsx", mode="create", key_fields=["sku"]
    )
    assert errors_of(dry) == errors_of(real)
    assert sorted(errors_of(dry)) == list(range(2, 9))
    assert errors_of(dry)[2] == ("", 'A product with SKU "IMP-0" already exists.')
    assert (
        counts_of(dry)
        == counts_of(real)
        == {
            "created": 3,
            "updated": 0,
            "unchanged": 0,
            "failed": 7,
        }
    )


def test_duplicate_keys_by_value_across_chunks_and_foreign_keys_and_unique_values(
    run_import: Any,
) -> None:
    spain = Country.objects.create(code="ES", name="Spain")
    Product.objects.create(sku="OLD-1", number=9000, barcode="TAKEN", name="Old")
    Product.objects.create(sku="IMP-3", number=4, barcode="B3", name="Product 3", price="3.50")
    rows = products(300)
    rows[0][1], rows[1][1] = -1, -2  # hash((-1,)) == hash((-2,)) in CPython: both are new
    rows[1][4] = spain.pk
    rows[150][1] = 150  # row 152 repeats the number of row 151 (150 + 1) -> refused
    rows[150][1] = rows[149][1]
    rows[260][1] = rows[40][1]  # number repeated across a chunk boundary (chunks of 100)
    rows[270][0] = "IMP-5"  # SKU of row 7, two chunks later
    rows[10][4] = 999_999  # no such country
    rows[20][2] = "TAKEN"  # clashes with an existing row: only the database refuses it
    rows[220][2] = "B30"  # repeats row 32's barcode, in another chunk
    rows[4][5] = "12,3,4"  # a bad cell
    dry, real = check_then_import(
        run_import,
        xlsx_bytes([HEADERS, *rows]),
        "p.xlsx",
        mode="upsert",
        key_fields=["number"],
        chunk_size=100,
    )
    errors = errors_of(dry)
    assert errors == errors_of(real)
    assert sorted(errors) == [6, 12, 22, 152, 222, 262, 272]
    assert errors[152] == ("", 'An earlier row of this file has the same number "150".')
    assert errors[262] == ("", 'An earlier row of this file has the same number "41".')
    assert errors[272] == ("", 'An earlier row of this file has the same SKU "IMP-5".')
    assert errors[222] == ("", 'An earlier row of this file has the same barcode "B30".')
    assert errors[12] == ("Country", 'No country with ID "999999".')
    assert errors[6] == ("Price", '"12,3,4" is not a number.')
    assert errors[22][1].startswith("The database refused this row: ")
    assert (
        counts_of(dry)
        == counts_of(real)
        == {
            "created": 292,
            "updated": 0,
            "unchanged": 1,  # IMP-3 holds what the file says
            "failed": 7,
        }
    )
    assert Product.objects.filter(number__in=[-1, -2]).count() == 2


def test_a_repeat_straddling_a_resume_is_still_refused(
    run_import: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = [["SKU", "Name"], *[[f"S-{i}", f"Show {i}"] for i in range(100)]]
    data[80][0] = "S-10"  # the repeat comes after the restart (chunks of 20, crash in 3rd)
    payload = xlsx_bytes(data)
    params = {"model": Product, "mode": "upsert", "key_fields": ["sku"], "chunk_size": 20}
    dry = run_import(payload, "p.xlsx", dry_run=True, **params)

    original = upsert.ChunkWriter.write
    calls = {"n": 0}

    def crash_on_third_chunk(self: Any, clean_rows: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        result = original(self, clean_rows, **kwargs)
        if calls["n"] == 3:
            raise ConnectionError("worker killed")
        return result

    monkeypatch.setattr(upsert.ChunkWriter, "write", crash_on_third_chunk)
    real = run_import(payload, "p.xlsx", expect_raise=True, **params)
    assert real.status == BulkTask.Status.FAILED and Product.objects.count() == 40
    api.retry(real)
    runner.run(real.pk)  # a fresh writer, as in another process
    real.refresh_from_db()
    assert real.status == BulkTask.Status.SUCCEEDED
    assert (
        errors_of(real)
        == errors_of(dry)
        == {81: ("", 'An earlier row of this file has the same SKU "S-10".')}
    )
    assert counts_of(real) == counts_of(dry)
    assert Product.objects.get(sku="S-10").name == "Show 10"


def test_all_or_nothing_reports_every_failing_row_in_one_pass(run_import: Any) -> None:
    Product.objects.create(sku="IMP-9", name="Old")
    rows = products(300)
    rows[3][0] = "IMP-1"  # same SKU as row 3: only the key matching finds it
    rows[6][5] = "oops"  # a bad cell
    rows[250][1] = "x"  # a bad cell in the third chunk
    params = {"mode": "create", "key_fields": ["sku"], "atomic": True, "chunk_size": 100}
    dry, real = check_then_import(run_import, xlsx_bytes([HEADERS, *rows]), "p.xlsx", **params)
    assert Product.objects.count() == 1
    assert real.result["all_or_nothing_refused"] is dry.result["all_or_nothing_refused"] is True
    assert counts_of(dry) == counts_of(real)
    assert counts_of(real)["created"] == 0
    assert sorted(errors_of(real)) == [5, 8, 11, 252] == sorted(errors_of(dry))
    assert errors_of(real) == errors_of(dry)
    assert errors_of(real)[5] == ("", 'An earlier row of this file has the same SKU "IMP-1".')
    assert errors_of(real)[11] == ("", 'A product with SKU "IMP-9" already exists.')

    fixed = [r for i, r in enumerate(rows) if i + 2 not in (5, 8, 11, 252)]
    dry, real = check_then_import(run_import, xlsx_bytes([HEADERS, *fixed]), "p.xlsx", **params)
    assert dry.failed_count == 0 and counts_of(dry) == counts_of(real)
    assert real.result["created"] == 296 and Product.objects.count() == 297


def test_a_clean_dry_run_predicts_the_import_exactly(run_import: Any) -> None:
    Product.objects.bulk_create(
        Product(sku=f"IMP-{i}", number=i + 1, barcode=f"B{i}", name=f"Product {i}", price=f"{i}.50")
        for i in range(0, 40)
    )
    Product.objects.filter(sku__in=["IMP-1", "IMP-2"]).update(name="Renamed")
    data = xlsx_bytes([HEADERS, *products(60)])
    dry, real = check_then_import(run_import, data, "p.xlsx", mode="upsert", key_fields=["sku"])
    assert (
        counts_of(dry)
        == counts_of(real)
        == {
            "created": 20,
            "updated": 2,
            "unchanged": 38,
            "failed": 0,
        }
    )


def test_a_bad_cell_on_row_60000_is_found_before_anything_is_written(run_import: Any) -> None:
    lines = ["Title,Seats", *(f"Show {i},{i % 400}" for i in range(59_999))]
    lines[59_999] = "Show 59998,many"  # spreadsheet row 60,000 (row 1 holds the headers)
    data = csv_bytes("\n".join(lines) + "\n")
    dry, real = check_then_import(run_import, data, "t.csv", model=Ticket, mode="create")
    expected = {60_000: ("Seats", '"many" is not a number.')}
    assert errors_of(dry) == errors_of(real) == expected
    assert counts_of(dry) == counts_of(real)
    assert dry.processed == 59_999 and Ticket.objects.count() == 59_998
