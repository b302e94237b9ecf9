"""Export writers, formula neutralisation and the error report round trip."""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bulkops.tabular import neutralize, open_table, write_csv, write_error_report, write_xlsx
from bulkops.tabular.cells import ErrorCell
from bulkops.tabular.writers import ERRORS_HEADER, export_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),
        ("+34.5", "+34.5"),
        ("+34 600 123 456", "+34 600 123 456"),
        ("-(1.5)", "-(1.5)"),
        ("+1+A1", "'+1+A1"),
        ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
        ("normal", "normal"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralize(text: str, expected: str) -> None:
    assert neutralize(text) == expected


def test_export_value_types() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    aware = datetime.datetime(2024, 7, 1, 10, 0, tzinfo=datetime.timezone.utc)
    assert export_value(aware, madrid) == datetime.datetime(2024, 7, 1, 12, 0)
    assert export_value(Decimal("1.50")) == Decimal("1.50")
    assert export_value(-3) == -3
    assert export_value(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert export_value({"a": 1}) == '{"a": 1}'
    assert export_value(["=x"]) == '["=x"]'
    assert export_value(None) is None


ROWS = [
    ["Ann", "=1+2", -5, 2.5, Decimal("10.10"), datetime.date(2024, 3, 5), True, None],
    ["@evil", "+cmd", 0, 1e-3, Decimal("-1"), datetime.datetime(2024, 1, 1, 8), False, "ok"],
]
HEADERS = ["Name", "Formula", "Int", "Float", "Decimal", "Date", "Bool", "Empty"]


def test_xlsx_export_stores_formula_like_text_as_text_keeps_numbers() -> None:
    buffer = io.BytesIO()
    assert write_xlsx(buffer, HEADERS, iter(ROWS)) == 2
    buffer.seek(0)
    sheet = openpyxl.load_workbook(buffer).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == HEADERS
    assert values[1][:4] == ["Ann", "=1+2", -5, 2.5]  # a text cell: never evaluated
    assert values[1][5] == datetime.datetime(2024, 3, 5)
    assert values[1][6] is True
    assert values[2][:2] == ["@evil", "+cmd"]
    assert sheet["B2"].data_type == sheet["A3"].data_type == sheet["B3"].data_type == "s"
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)
        assert row[2].data_type == "n" and row[3].data_type == "n"


def test_xlsx_export_strips_illegal_xml_and_caps_length() -> None:
    buffer = io.BytesIO()
    write_xlsx(buffer, ["a"], [["bell\x07char"], ["x" * 40_000]])
    buffer.seek(0)
    sheet = openpyxl.load_workbook(buffer).active
    assert sheet is not None
    assert sheet["A2"].value == "bellchar"
    assert len(sheet["A3"].value) == 32_767


def test_xlsx_export_empty() -> None:
    buffer = io.BytesIO()
    assert write_xlsx(buffer, ["a", "b"], []) == 0
    buffer.seek(0)
    with open_table(buffer, filename="e.xlsx") as table:
        assert table.headers == ["a", "b"]
        assert list(table.rows()) == []


def test_xlsx_export_splits_sheets_past_excel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bulkops.tabular.writers.EXCEL_MAX_ROWS", 4)
    buffer = io.BytesIO()
    write_xlsx(buffer, ["n"], ([i] for i in range(7)), sheet_title="Customers")
    buffer.seek(0)
    workbook = openpyxl.load_workbook(buffer)
    assert workbook.sheetnames == ["Customers", "Customers (2)", "Customers (3)"]
    assert [c.value for c in workbook["Customers (2)"]["A"]] == ["n", 3, 4, 5]


def test_csv_export_bom_and_neutralised() -> None:
    buffer = io.BytesIO()
    assert write_csv(buffer, HEADERS, ROWS) == 2
    data = buffer.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert rows[1] == ["Ann", "'=1+2", "-5", "2.5", "10.10", "2024-03-05", "TRUE", ""]
    assert rows[2][:2] == ["'@evil", "'+cmd"]
    assert rows[2][5] == "2024-01-01 08:00:00"


def test_csv_export_reads_back_through_open_table() -> None:
    buffer = io.BytesIO()
    write_csv(buffer, ["Name", "City"], [["José", "Málaga"]], delimiter=";")
    buffer.seek(0)
    with open_table(buffer, filename="x.csv") as table:
        assert table.delimiter == ";"
        assert list(table.rows()) == [(2, ["José", "Málaga"])]


def test_error_report_round_trip() -> None:
    headers = ["Name", "Email", "Code", "Joined", "Amount"]
    failed: list[tuple[int, list[Any], list[str]]] = [
        (
            3,
            ["Ann", "not-an-email", "00123", datetime.date(2024, 3, 5), 12.5],
            ['Column "Email": Enter a valid email address.'],
        ),
        (
            7,
            ["=cmd", None, "042", "31/02/2024", "abc"],
            ['Column "Joined": bad date.', 'Column "Amount": "abc" is not a number.'],
        ),
    ]
    buffer = io.BytesIO()
    assert write_error_report(buffer, headers, failed) == 2
    buffer.seek(0)
    with open_table(buffer, filename="errors.xlsx") as table:
        assert table.headers == [*headers, ERRORS_HEADER]
        rows = list(table.rows())
    assert [values[:5] for _, values in rows] == [
        ["Ann", "not-an-email", "00123", datetime.date(2024, 3, 5), 12.5],
        ["=cmd", None, "042", "31/02/2024", "abc"],
    ]
    assert rows[0][1][5] == 'Column "Email": Enter a valid email address.'
    assert rows[1][1][5] == 'Column "Joined": bad date.\nColumn "Amount": "abc" is not a number.'
    buffer.seek(0)
    sheet = openpyxl.load_workbook(buffer).active
    assert sheet is not None
    assert sheet["A3"].data_type == "s"  # the typed "=cmd" stays text, never a formula


def test_error_report_keeps_every_type_and_the_look() -> None:
    headers = ["Text", "Int", "Float", "Bool", "Date", "When", "Time", "Span", "Money", "Bad"]
    values: list[Any] = [
        "a & b <c>\r\nd",
        7,
        0.1,
        True,
        datetime.date(1900, 2, 28),
        datetime.datetime(2024, 2, 29, 8, 30, 15),
        datetime.time(8, 30),
        datetime.timedelta(hours=30),
        Decimal("12.50"),
        ErrorCell("#DIV/0!", "J2"),
    ]
    buffer = io.BytesIO()
    assert write_error_report(buffer, headers, [(2, values, ["one", "two"])]) == 1
    buffer.seek(0)
    with open_table(buffer, filename="errors.xlsx") as table:
        (_, got), *rest = list(table.rows())
    assert not rest
    assert got[:9] == [
        "a & b <c>\r\nd",
        7,
        0.1,
        True,
        datetime.date(1900, 2, 28),
        datetime.datetime(2024, 2, 29, 8, 30, 15),
        datetime.time(8, 30),
        datetime.timedelta(hours=30),
        12.5,
    ]
    assert str(got[9]) == "#DIV/0!" and got[10] == "one\ntwo"
    buffer.seek(0)
    sheet = openpyxl.load_workbook(buffer).active
    assert sheet is not None
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet["K2"].font.color.rgb == "FF9C0006" and sheet["K2"].alignment.wrap_text
