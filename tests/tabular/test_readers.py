"""Reading .xlsx (both engines) and .ods into header + numbered rows."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import pytest

from bulkops.tabular import open_table
from bulkops.tabular.readers import Engine

from .files import ods_bytes, xlsx_bytes

ROWS: list[list[Any]] = [
    ["Name", "E-mail", "Joined", "Balance", "Code", "Active"],
    ["Ann", "ann@example.com", datetime.date(2024, 3, 5), 10.5, "00123", True],
    [None, None, None, None, None, None],
    ["Bob", "bob@example.com", datetime.datetime(2024, 1, 2, 9, 30), 12, "042", False],
]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_xlsx_headers_and_row_numbers(engine: Engine) -> None:
    with open_table(io.BytesIO(xlsx_bytes(ROWS)), filename="c.xlsx", engine=engine) as table:
        assert table.headers == ["Name", "E-mail", "Joined", "Balance", "Code", "Active"]
        assert table.header_row == 1
        assert table.sheet_name == "Sheet1"
        assert table.format == "xlsx"
        rows = list(table.rows())
    assert [number for number, _ in rows] == [2, 4]  # the blank row 3 keeps its number
    ann = rows[0][1]
    assert ann[0] == "Ann" and ann[4] == "00123" and ann[5] is True
    assert ann[3] == 10.5
    assert ann[2] in (datetime.date(2024, 3, 5), datetime.datetime(2024, 3, 5))
    assert rows[1][1][2] == datetime.datetime(2024, 1, 2, 9, 30)


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_header_below_blank_rows_and_right_of_blank_columns(engine: Engine) -> None:
    rows = [[], [], [None, None, "Name", "Email"], [None, None, "Ann", "a@x.io"]]
    with open_table(io.BytesIO(xlsx_bytes(rows)), filename="c.xlsx", engine=engine) as table:
        assert table.headers == ["Name", "Email"]
        assert table.header_row == 3
        assert list(table.rows()) == [(4, ["Ann", "a@x.io"])]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_short_rows_padded_and_extra_cells_dropped(engine: Engine) -> None:
    rows = [["a", "b", "c"], ["1"], ["1", "2", "3", "4"]]
    with open_table(io.BytesIO(xlsx_bytes(rows)), filename="c.xlsx", engine=engine) as table:
        assert [values for _, values in table.rows()] == [
            ["1", None, None],
            ["1", "2", "3"],
        ]


def test_numeric_header_is_text() -> None:
    with open_table(io.BytesIO(xlsx_bytes([["Year", 2024, 2025.5]])), filename="c.xlsx") as table:
        assert table.headers == ["Year", "2024", "2025.5"]


def test_whitespace_cells_are_empty() -> None:
    rows = [["a", "b"], ["  ", "x"], [" ", ""]]
    with open_table(io.BytesIO(xlsx_bytes(rows)), filename="c.xlsx") as table:
        assert list(table.rows()) == [(2, [None, "x"])]


def test_resume_after_row() -> None:
    rows: list[list[Any]] = [["n"], *[[i] for i in range(10)]]
    with open_table(io.BytesIO(xlsx_bytes(rows)), filename="c.xlsx") as table:
        assert [n for n, _ in table.rows(after=7)] == [8, 9, 10, 11]


def test_first_visible_sheet_is_default_and_named_sheet_selectable() -> None:
    data = xlsx_bytes(
        [["a"], [1]],
        title="Visible",
        extra_sheets=[("Hidden", [["h"], [2]], "hidden"), ("Other", [["o"], [3]], "visible")],
    )
    with open_table(io.BytesIO(data), filename="c.xlsx") as table:
        assert table.sheet_name == "Visible"
        assert table.sheet_names == ["Visible", "Hidden", "Other"]
    with open_table(io.BytesIO(data), filename="c.xlsx", sheet="Other") as table:
        assert table.headers == ["o"]
    with open_table(io.BytesIO(data), filename="c.xlsx", sheet=1) as table:
        assert table.headers == ["h"]


def test_first_sheet_hidden_picks_next_visible() -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.append(["hidden"])
    first.sheet_state = "hidden"
    second = workbook.create_sheet("Data")
    second.append(["shown"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with open_table(io.BytesIO(buffer.getvalue()), filename="c.xlsx") as table:
        assert table.headers == ["shown"]


def test_row_count_known_before_reading() -> None:
    rows: list[list[Any]] = [["n"], *[[i] for i in range(100)]]
    with open_table(io.BytesIO(xlsx_bytes(rows)), filename="c.xlsx") as table:
        assert table.row_count == 100


def test_date1904_flag_read_from_workbook() -> None:
    with open_table(io.BytesIO(xlsx_bytes([["a"]], epoch1904=True)), filename="m.xlsx") as table:
        assert table.date1904 is True
    with open_table(io.BytesIO(xlsx_bytes([["a"]])), filename="w.xlsx") as table:
        assert table.date1904 is False


def test_formula_cells_give_cached_values_not_formulas() -> None:
    data = xlsx_bytes([["a", "b"], [1, "=A2*2"]])
    with open_table(io.BytesIO(data), filename="f.xlsx") as table:
        # openpyxl writes no cached value; the formula text itself must never come back.
        assert list(table.rows()) == [(2, [1.0, None])]


def test_xlsm_extension_is_read() -> None:
    with open_table(io.BytesIO(xlsx_bytes([["a"], ["x"]])), filename="macro.xlsm") as table:
        assert list(table.rows()) == [(2, ["x"])]


def test_read_from_path(tmp_path: Path) -> None:
    path = tmp_path / "people.xlsx"
    path.write_bytes(xlsx_bytes([["a"], ["x"]]))
    with open_table(path) as table:
        assert table.filename == "people.xlsx"
        assert list(table.rows()) == [(2, ["x"])]


def test_non_seekable_stream_is_spooled() -> None:
    class Stream(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    with open_table(Stream(xlsx_bytes([["a"], ["x"]])), filename="s.xlsx") as table:  # type: ignore[arg-type]
        assert list(table.rows()) == [(2, ["x"])]


def test_ods() -> None:
    data = ods_bytes([["Name", "Qty"], ["Ann", 3], [None, None], ["Bob", 4.5]])
    with open_table(io.BytesIO(data), filename="stock.ods") as table:
        assert table.format == "ods"
        assert table.headers == ["Name", "Qty"]
        assert list(table.rows()) == [(2, ["Ann", 3.0]), (4, ["Bob", 4.5])]


def test_openpyxl_fallback_when_calamine_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import python_calamine

    def broken(*args: object, **kwargs: object) -> None:
        raise python_calamine.CalamineError("unsupported")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", broken)
    with open_table(io.BytesIO(xlsx_bytes(ROWS)), filename="c.xlsx") as table:
        assert type(table).__name__ == "OpenpyxlTable"
        assert len(list(table.rows())) == 2


def test_huge_sheet_streams_through_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    from bulkops.tabular import readers

    data = xlsx_bytes([["a"], *[[i] for i in range(50)]])
    with open_table(io.BytesIO(data), filename="c.xlsx") as table:
        assert type(table).__name__ == "CalamineTable"
    monkeypatch.setattr(readers, "CALAMINE_MAX_SHEET_XML", 100)
    with open_table(io.BytesIO(data), filename="c.xlsx") as table:
        assert type(table).__name__ == "OpenpyxlTable"
        assert len(list(table.rows())) == 50
