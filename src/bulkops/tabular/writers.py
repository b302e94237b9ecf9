"""Streaming writers: export to .xlsx/.csv, and the error report users fix and re-upload."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, BinaryIO

from .cells import CellValue

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Digits with spaces, dots, commas, slashes and brackets ("-5", "+34 600 123 456",
# "-(1.5)") cannot name a function or a cell, so they stay as typed: phone numbers
# must survive an export. Anything else starting like a formula gets the apostrophe.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9 ().,/-]*[0-9][0-9 ().,/-]*")
# XML 1.0 cannot hold these; openpyxl refuses the whole workbook if one slips in.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def neutralize(text: str) -> str:
    """Prefix a string that a spreadsheet would run as a formula with an apostrophe."""
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


# Every character a spreadsheet may take as the list separator when it opens a CSV
# (Excel follows the system's: "," in the US, ";" in most of Europe), and line breaks.
_CSV_SPLIT = re.compile(r"([,;\t|\r\n]+)")
_TRIGGER = re.compile(r'^([\s"]*)([=+\-@])')


def neutralize_csv(text: str) -> str:
    """Make sure no piece of ``text`` starts a formula, whatever separator splits it.

    ``a;=cmd|' /C calc'!A0`` written to a comma-separated file is one harmless cell
    in the US, but Excel in most of Europe splits it at ";" and runs the second
    piece. Each piece between possible separators that would start with ``= + - @``
    (after spaces and quotes) gets an apostrophe before that character; numbers such
    as ``-5`` or ``+34 600 123 456`` stay as typed.
    """
    if not any(char in text for char in "=+-@"):
        return text
    pieces = _CSV_SPLIT.split(text)
    for index in range(0, len(pieces), 2):  # odd indexes are the separators themselves
        piece = pieces[index]
        match = _TRIGGER.match(piece)
        if match and not _PLAIN_NUMBER.fullmatch(piece.strip()):
            pieces[index] = match.group(1) + "'" + piece[match.end(1) :]
    return "".join(pieces)


def export_value(value: Any, tz: datetime.tzinfo | None = None, *, guard: bool = True) -> CellValue:
    """One Python value -> a cell value openpyxl and csv can write safely.

    ``guard=False`` leaves formula-like text as it is: for .xlsx, whose writer stores
    it as a text cell, which a spreadsheet never evaluates.
    """
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            # Excel has no time zones: show the wall time of the caller's zone.
            value = (value.astimezone(tz) if tz else value).replace(tzinfo=None)
        return value
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        if isinstance(value, datetime.time) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        return value
    if isinstance(value, uuid.UUID):
        text = str(value)
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, bytes | memoryview):
        text = bytes(value).hex()
    else:
        text = str(value)
    return neutralize(text) if guard else text


def _xlsx_text(value: CellValue) -> CellValue:
    if isinstance(value, str):
        value = _ILLEGAL_XML.sub("", value)
        if len(value) > EXCEL_MAX_CHARS:
            value = value[: EXCEL_MAX_CHARS - 1] + "…"
    return value


def _text_cell(sheet: Any, value: CellValue) -> Any:
    # openpyxl makes every string that starts with "=" a formula; a text cell keeps the
    # characters exactly, so the export imports back unchanged (no apostrophe) and no
    # spreadsheet runs it. "+", "-" and "@" strings are text cells already.
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def write_xlsx(
    dest: BinaryIO,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    sheet_title: str = "Export",
    tz: datetime.tzinfo | None = None,
) -> int:
    """Stream rows into an .xlsx workbook; returns the number of data rows written.

    Rows past Excel's 1,048,576-row limit continue on a new sheet with the header repeated.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    sheet_number = 0
    written = 0
    sheet_rows = EXCEL_MAX_ROWS

    def new_sheet() -> Any:
        nonlocal sheet_number
        sheet_number += 1
        title = sheet_title if sheet_number == 1 else f"{sheet_title} ({sheet_number})"
        sheet = workbook.create_sheet(title=title[:31])
        header_cells = []
        for header in headers:
            cell = _text_cell(sheet, _xlsx_text(str(header)))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        sheet.freeze_panes = "A2"
        return sheet

    sheet = None
    for row in rows:
        if sheet_rows >= EXCEL_MAX_ROWS:
            sheet = new_sheet()
            sheet_rows = 1
        assert sheet is not None
        values = [_xlsx_text(export_value(value, tz, guard=False)) for value in row]
        sheet.append(
            [
                _text_cell(sheet, v) if isinstance(v, str) and v.startswith("=") else v
                for v in values
            ]
        )
        sheet_rows += 1
        written += 1
    if sheet is None:
        new_sheet()
    workbook.save(dest)  # type: ignore[arg-type]
    return written


def write_csv(
    dest: BinaryIO,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    delimiter: str = ",",
    tz: datetime.tzinfo | None = None,
) -> int:
    """Stream rows as UTF-8 CSV with a BOM (so Excel detects the encoding)."""
    text = io.TextIOWrapper(dest, encoding="utf-8-sig", newline="")  # type: ignore[type-var]
    try:
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([neutralize_csv(neutralize(str(h))) for h in headers])
        written = 0
        for row in rows:
            writer.writerow([neutralize_csv(_csv_text(export_value(value, tz))) for value in row])
            written += 1
        text.flush()
    finally:
        text.detach()
    return written


def _csv_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


ERRORS_HEADER = "Errors"


def write_error_report(
    dest: BinaryIO,
    headers: Sequence[str],
    failed_rows: Iterable[tuple[int, Sequence[CellValue], Sequence[str]]],
    *,
    sheet_title: str = "Rows to fix",
    errors_header: str = ERRORS_HEADER,
) -> int:
    """Write the failed rows, values as uploaded, plus an "Errors" column.

    ``failed_rows`` yields (row number, original values, messages). Values are
    written with their original types so that fixing the rows and uploading the
    file again imports them; text is stored as text, never as a formula.
    """
    from .report import write_report_xlsx

    width = len(headers)
    rows = ((list(values)[:width], "\n".join(messages)) for _, values, messages in failed_rows)
    return write_report_xlsx(
        dest, [*headers, errors_header], rows, sheet_title=sheet_title[:31], clean=_xlsx_text
    )
