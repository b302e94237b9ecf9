"""What Excel, LibreOffice and Numbers really write: sheets, extents, errors, .xlsb, passwords."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference

from bulkops.tabular import TableError, open_table
from bulkops.tabular.cells import ErrorCell
from bulkops.tabular.readers import Engine
from bulkops.tabular.sniff import estimate_rows

from .files import cfb_bytes, ods_bytes
from .models_app.models import Customer
from .workbooks import (
    cells_xml,
    encrypted_ods_bytes,
    encrypted_xls_bytes,
    ods_raw,
    raw_xlsx,
    sheet_xml,
    xls_bytes,
    xlsb_bytes,
)

PEOPLE = [["Name", "E-mail"], ["Ann", "ann@example.com"], ["Bob", "bob@example.com"]]
ENGINES = ["calamine", "openpyxl"]


def table_of(data: bytes, filename: str, **kwargs: Any) -> Any:
    return open_table(io.BytesIO(data), filename=filename, **kwargs)


def saved(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_first_sheet_is_passed_over_for_the_first_with_data(engine: Engine) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"  # type: ignore[union-attr]
    data_sheet = workbook.create_sheet("People")
    for row in PEOPLE:
        data_sheet.append(row)
    with table_of(saved(workbook), "people.xlsx", engine=engine) as table:
        assert table.sheet_name == "People"
        assert table.sheet_names == ["Notes", "People"]
        assert [values for _, values in table.rows()] == PEOPLE[1:]


def test_chart_sheet_first_is_passed_over() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Figures"
    for row in [["Month", "Sales"], ["Jan", 10], ["Feb", 12]]:
        sheet.append(row)
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    workbook.create_chartsheet("Chart", 0).add_chart(chart)
    with table_of(saved(workbook), "sales.xlsx") as table:
        assert table.sheet_name == "Figures"
        assert table.headers == ["Month", "Sales"]


def test_raw_chart_sheet_and_empty_sheet_before_the_data() -> None:
    data = raw_xlsx(
        [("Chart", b"chart"), ("Empty", sheet_xml("")), ("People", sheet_xml(cells_xml(PEOPLE)))]
    )
    with table_of(data, "people.xlsx") as table:
        assert table.sheet_name == "People"


def test_the_sheet_the_user_names_is_read() -> None:
    data = raw_xlsx(
        [("A", sheet_xml(cells_xml([["x"], [1]]))), ("People", sheet_xml(cells_xml(PEOPLE)))]
    )
    with table_of(data, "people.xlsx", sheet="People") as table:
        assert table.headers == ["Name", "E-mail"]
    with pytest.raises(TableError) as info:
        table_of(data, "people.xlsx", sheet="Nope")
    assert (
        info.value.message == "\"people.xlsx\" has no sheet 'Nope'; its sheets are 'A', 'People'."
    )


def test_all_sheets_empty_is_refused_as_empty() -> None:
    data = raw_xlsx([("Chart", b"chart"), ("Empty", sheet_xml(""))])
    with pytest.raises(TableError) as info:
        table_of(data, "empty.xlsx")
    assert info.value.code == "no_header"


@pytest.mark.parametrize("engine", ENGINES)
def test_libreoffice_declared_size_of_a_whole_sheet_is_not_trusted(engine: Engine) -> None:
    # LibreOffice writes A1:AMJ1048576 once a whole column is formatted; styled empty
    # cells (no value) sit far to the right.
    body = cells_xml([["Name", "Code"], ["Ann", 1], ["Bob", 2], ["Cid", 3]])
    body = body.replace("</row>", '<c r="AMJ1" s="1"/></row>', 1)
    data = raw_xlsx([("Sheet1", sheet_xml(body, dimension="A1:AMJ1048576"))])
    with table_of(data, "libre.xlsx", engine=engine) as table:
        assert table.headers == ["Name", "Code"]
        assert table.row_count == 3
        assert [values[0] for _, values in table.rows()] == ["Ann", "Bob", "Cid"]


@pytest.mark.parametrize("engine", ENGINES)
def test_lying_dimension_counts_the_rows_really_there(engine: Engine) -> None:
    rows: list[list[Any]] = [["n"], *[[i] for i in range(500)]]
    data = raw_xlsx([("S", sheet_xml(cells_xml(rows), dimension="A1:B2"))])
    with table_of(data, "lying.xlsx", engine=engine) as table:
        assert table.row_count == 500
        assert sum(1 for _ in table.rows()) == 500
    assert estimate_rows(io.BytesIO(data), filename="lying.xlsx") == 500
    assert estimate_rows(io.BytesIO(data), filename="lying.xlsx", exact_below=1000) == 500


def test_a_count_at_submit_reads_a_big_sheet_only_past_the_inline_bound() -> None:
    # 60,000 rows of ~60 bytes: several 1 MB blocks of sheet XML.
    rows: list[list[Any]] = [["n", "text"], *[[i, f"row number {i}"] for i in range(60_000)]]
    data = raw_xlsx([("S", sheet_xml(cells_xml(rows), dimension="A1:B2"))])
    assert estimate_rows(io.BytesIO(data), filename="big.xlsx") == 60_000
    # Under the bound the count is exact; past it, an estimate that is never under it.
    assert estimate_rows(io.BytesIO(data), filename="big.xlsx", exact_below=100_000) == 60_000
    guess = estimate_rows(io.BytesIO(data), filename="big.xlsx", exact_below=1_000)
    assert guess is not None and guess > 1_000
    assert abs(guess - 60_000) < 6_000  # read from the share of the sheet seen


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (encrypted_xls_bytes(), "locked.xls"),
        (encrypted_ods_bytes(), "locked.ods"),
        (cfb_bytes("EncryptionInfo", "EncryptedPackage"), "locked.xlsx"),
        (cfb_bytes("EncryptionInfo", "EncryptedPackage"), "locked.xlsb"),
    ],
)
def test_password_protected_files_are_named_as_such(data: bytes, filename: str) -> None:
    with pytest.raises(TableError) as info:
        table_of(data, filename)
    assert info.value.code == "encrypted"
    assert info.value.message.startswith(f'"{filename}" is protected with a password.')


ERRORS: list[list[Any]] = [
    ["Name", "E-mail", "Score"],
    ["Ann", "ann@example.com", ("#DIV/0!", "1/0")],
    [("#N/A", "NA()"), ("#REF!", "#REF!+1"), ("#VALUE!", '"a"+1')],
    ["Bob", "bob@example.com", 7],
]


@pytest.mark.parametrize("engine", ENGINES)
def test_error_cells_are_read_as_errors_naming_the_cell(engine: Engine) -> None:
    data = raw_xlsx([("S", sheet_xml(cells_xml(ERRORS)))])
    with table_of(data, "scores.xlsx", engine=engine) as table:
        rows = list(table.rows())
    assert [number for number, _ in rows] == [2, 3, 4]  # the row of errors is kept
    score = rows[0][1][2]
    assert isinstance(score, ErrorCell) and (score, score.ref) == ("#DIV/0!", "C2")
    assert [(str(v), v.ref) for v in rows[1][1]] == [  # type: ignore[union-attr]
        ("#N/A", "A3"),
        ("#REF!", "B3"),
        ("#VALUE!", "C3"),
    ]
    assert rows[2][1] == ["Bob", "bob@example.com", 7]


def test_error_cells_written_by_openpyxl_are_errors_too() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Name", "E-mail"])
    sheet.append(["Ann", "#N/A"])
    sheet["B2"].data_type = "e"
    with table_of(saved(workbook), "e.xlsx") as table:
        [(_, values)] = list(table.rows())
    assert isinstance(values[1], ErrorCell) and values[1].ref == "B2"


def test_error_cells_become_row_errors_in_an_import(countries: Any, run_import: Any) -> None:
    data = raw_xlsx([("S", sheet_xml(cells_xml([r[:2] for r in ERRORS])))])
    task = run_import(data, "people.xlsx", mode="create", key_fields=["email"])
    assert task.failed_count == 1
    messages = {(e.row, e.field, e.message) for e in task.errors.all()}
    assert any(
        row == 3 and "cell A3 holds the spreadsheet error #N/A (value not available)" in message
        for row, _field, message in messages
    ), messages
    assert any(
        row == 3 and "cell B3 holds the spreadsheet error #REF!" in m for row, _, m in messages
    )
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "ann@example.com",
        "bob@example.com",
    ]


def test_xlsb_is_read() -> None:
    data = xlsb_bytes([["Name", "Amount"], ["Ann", 1.5], ["Bob", 2]])
    with table_of(data, "book.xlsb") as table:
        assert table.format == "xlsb"
        assert table.sheet_name == "Data"
        assert [values for _, values in table.rows()] == [["Ann", 1.5], ["Bob", 2.0]]


def test_xlsb_error_cells_are_errors_too() -> None:
    data = xlsb_bytes([["Name", "Score"], ["Ann", ("#DIV/0!",)], ["Bob", 3]])
    with table_of(data, "book.xlsb") as table:
        rows = [values for _, values in table.rows()]
    assert isinstance(rows[0][1], ErrorCell) and (rows[0][1], rows[0][1].ref) == ("#DIV/0!", "B2")
    assert rows[1] == ["Bob", 3.0]


def test_xls_empty_first_sheet_skipped_and_error_cells_named() -> None:
    rows: list[list[Any]] = [["Name", "Score"], ["Ann", ("#DIV/0!",)], ["Bob", 3]]
    data = xls_bytes([("Empty", []), ("People", rows)])
    with table_of(data, "old.xls") as table:
        assert table.sheet_name == "People"
        got = [values for _, values in table.rows()]
    assert isinstance(got[0][1], ErrorCell) and (got[0][1], got[0][1].ref) == ("#DIV/0!", "B2")
    assert got[1] == ["Bob", 3.0]


def test_ods_first_sheet_still_read() -> None:
    with table_of(ods_bytes(PEOPLE), "people.ods") as table:
        assert [values for _, values in table.rows()] == PEOPLE[1:]


@pytest.mark.parametrize("engine", ENGINES)
def test_namespace_prefixed_sheet_xml_is_measured_and_read(engine: Engine) -> None:
    # Some generators qualify every element: <x:worksheet><x:sheetData><x:row><x:c ...>.
    plain = sheet_xml(cells_xml(PEOPLE)).decode()
    prefixed = (
        plain.replace("<worksheet xmlns=", "<x:worksheet xmlns:x=")
        .replace("</worksheet>", "</x:worksheet>")
        .replace("<", "<x:")
        .replace("<x:/", "</x:")
        .replace("<x:?xml", "<?xml")
        .replace("<x:x:", "<x:")
        .replace("</x:x:", "</x:")
    )
    data = raw_xlsx([("Empty", sheet_xml("")), ("People", prefixed.encode())])
    with table_of(data, "prefixed.xlsx", engine=engine) as table:
        assert table.sheet_name == "People"
        assert [values for _, values in table.rows()] == PEOPLE[1:]


def test_ods_error_cells_written_by_libreoffice_are_errors() -> None:
    rows = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Name</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>Score</text:p>'
        "</table:table-cell></table:table-row>"
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Ann</text:p>'
        '</table:table-cell><table:table-cell table:formula="of:=1/0" office:value-type="string" '
        'office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p>'
        "</table:table-cell></table:table-row>"
    )
    with table_of(ods_raw(rows), "calc.ods") as table:
        [(_, values)] = list(table.rows())
    assert values[0] == "Ann"
    assert isinstance(values[1], ErrorCell) and (values[1], values[1].ref) == ("#DIV/0!", "B2")
