"""The value types a reader yields, and the one text rendering shared by all modules."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TypeAlias

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
