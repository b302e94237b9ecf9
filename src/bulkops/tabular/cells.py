"""The value types a reader yields, and the one text rendering shared by all modules."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TypeAlias

from bulkops import texts


class ErrorCell(str):
    """A cell holding a spreadsheet error (``#DIV/0!``, ``#N/A``...), never a value to import.

    It is a ``str`` so that previews and error reports show it as the spreadsheet does;
    ``ref`` names the cell ("C5") for the row error.
    """

    ref: str

    def __new__(cls, code: str, ref: str = "") -> ErrorCell:
        cell = super().__new__(cls, code)
        cell.ref = ref
        return cell

    def __reduce__(self) -> tuple[type[ErrorCell], tuple[str, str]]:
        return (ErrorCell, (str(self), self.ref))


ERROR_MEANINGS = {
    "#DIV/0!": texts.gettext_noop("division by zero"),
    "#N/A": texts.gettext_noop("value not available"),
    "#NAME?": texts.gettext_noop("unknown function or name"),
    "#NULL!": texts.gettext_noop("empty intersection"),
    "#NUM!": texts.gettext_noop("invalid number"),
    "#REF!": texts.gettext_noop("reference to a deleted cell"),
    "#VALUE!": texts.gettext_noop("wrong type of argument"),
    "#SPILL!": texts.gettext_noop("spill range not empty"),
    "#CALC!": texts.gettext_noop("calculation error"),
    "#GETTING_DATA": texts.gettext_noop("data not loaded yet"),
}


def error_message(cell: ErrorCell) -> texts.Text:
    meaning = ERROR_MEANINGS.get(str(cell))
    if cell.ref and meaning:
        return texts.gettext(
            "cell %(cell)s holds the spreadsheet error %(error)s (%(meaning)s); fix the formula "
            "or type the value.",
            cell=cell.ref,
            error=str(cell),
            meaning=texts.Text(meaning),
        )
    if meaning:
        return texts.gettext(
            "the cell holds the spreadsheet error %(error)s (%(meaning)s); fix the formula or "
            "type the value.",
            error=str(cell),
            meaning=texts.Text(meaning),
        )
    if cell.ref:
        return texts.gettext(
            "cell %(cell)s holds the spreadsheet error %(error)s; fix the formula or type the "
            "value.",
            cell=cell.ref,
            error=str(cell),
        )
    return texts.gettext(
        "the cell holds the spreadsheet error %(error)s; fix the formula or type the value.",
        error=str(cell),
    )


CellValue: TypeAlias = (
    str
    | int
    | float
    | bool
    | Decimal
    | datetime.datetime
    | datetime.date
    | datetime.time
    | datetime.timedelta
    | None
)


def is_empty(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def number_text(value: float | int | Decimal) -> str:
    """Render a number as a person would type it: 123.0 -> "123", 1e20 -> "100000000000000000000".

    Spreadsheet readers hand every number over as a float, so a code like a postcode
    or a phone number typed without a leading apostrophe arrives as 28001.0.
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        if value.is_integer():
            return str(int(value))
        value = Decimal(repr(value))
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def cell_text(value: CellValue) -> str:
    """Text of any cell as the user would recognise it; empty cells give ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        try:
            return number_text(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime.datetime):
        return (
            value.isoformat(sep=" ")
            if value.time() != datetime.time()
            else value.date().isoformat()
        )
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
