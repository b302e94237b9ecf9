"""The error report: every failed row, as uploaded, without reading the file again."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import pytest

from bulkops import api, runner
from bulkops.models import BulkTask
from bulkops.operations import imports, upsert
from bulkops.tabular import failed, open_table
from bulkops.tabular.cells import ErrorCell
from bulkops.tabular.failed import FailedRows

from .files import xlsx_bytes
from .models_app.models import Customer, Ticket

pytestmark = pytest.mark.django_db


def report_rows(task: BulkTask) -> list[tuple[int, list[Any]]]:
    with open_table(io.BytesIO(task.result_file.read()), filename="report.xlsx") as report:
        return list(report.rows())


def test_failed_rows_spill_to_disk_and_keep_types_and_order() -> None:
    values: list[Any] = [
        "text",
        7,
        1.5,
        True,
        None,
        datetime.date(2024, 2, 29),
        datetime.datetime(2024, 2, 29, 8, 30),
        datetime.time(8, 30),
        Decimal("1.10"),
        ErrorCell("#DIV/0!", "C3"),
        "=cmd()",
    ]
    with FailedRows(memory_rows=3) as rows:
        for number in range(2, 12):
            rows.add(number, values, [f"message {number}", "second"])
        assert rows.count == 10 and rows._spill is not None
        got = list(rows)
        assert list(rows) == got, "iterating twice gives the same rows"
    assert [n for n, _, _ in got] == list(range(2, 12))
    for _, kept, messages in got:
        assert kept == values
        assert [type(v) for v in kept] == [type(v) for v in values]
        error = kept[9]
        assert isinstance(error, ErrorCell) and error.ref == "C3"
        assert messages[1] == "second"


def test_the_report_lists_every_failed_row_past_max_errors(
    settings: Any, countries: Any, run_import: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "MAX_ERRORS": 5}
    monkeypatch.setattr(failed, "MEMORY_ROWS", 4)  # most of them spill to disk
    rows = [[f"C {i}", f"c{i}@example.com", "ES", i] for i in range(300)]
    bad = list(range(3, 300, 7))
    for i in bad:
        rows[i][1] = f"broken {i}"
    opened: list[Any] = []
    real_open = imports.open_input

    def counting_open(task: Any) -> Any:
        opened.append(task)
        return real_open(task)

    monkeypatch.setattr(imports, "open_input", counting_open)
    task = run_import(
        xlsx_bytes([["Name", "Email", "Country", "Visits"], *rows]),
        "c.xlsx",
        mode="create",
        chunk_size=50,
    )
    assert len(opened) == 1, "the report is written without reading the file again"
    assert task.failed_count == len(bad) and task.errors.count() == 5
    assert Customer.objects.count() == 300 - len(bad)
    got = report_rows(task)
    assert [values[1] for _, values in got] == [f"broken {i}" for i in bad]
    assert [values[0] for _, values in got] == [f"C {i}" for i in bad]
    assert got[0][1][4] == 'Column "Email": Enter a valid email address.'


def test_after_a_restart_the_report_holds_the_rows_before_and_after_it(
    run_import: Any, monkeypatch: pytest.MonkeyPatch, fixed_chunks: None
) -> None:
    rows = [[f"Show {i}", 600 if i in (5, 250, 450, 900) else i % 400] for i in range(1000)]
    original = upsert.ChunkWriter.write
    calls = {"n": 0}

    def crash_on_third_chunk(self: Any, clean_rows: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
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
    assert task.checkpoint["state"]["offset"] == 400
    api.retry(task)
    runner.run(task.pk)
    task.refresh_from_db()
    assert task.status == BulkTask.Status.SUCCEEDED
    assert (task.processed, task.failed_count, Ticket.objects.count()) == (1000, 4, 996)
    got = report_rows(task)
    assert [number for number, _ in got] == [2, 3, 4, 5]  # the report's own row numbers
    assert [values[0] for _, values in got] == ["Show 5", "Show 250", "Show 450", "Show 900"]


def test_all_or_nothing_report_lists_every_failing_row(countries: Any, run_import: Any) -> None:
    rows = [[f"C {i}", f"c{i}@example.com", "ES", i] for i in range(300)]
    rows[10][1] = rows[290][1] = "broken"
    task = run_import(
        xlsx_bytes([["Name", "Email", "Country", "Visits"], *rows]),
        "c.xlsx",
        atomic=True,
        chunk_size=100,
    )
    assert task.result["all_or_nothing_refused"] is True and Customer.objects.count() == 0
    assert [values[0] for _, values in report_rows(task)] == ["C 10", "C 290"]
