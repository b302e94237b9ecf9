"""Spreadsheet reading, cleaning and writing for imports and exports.

Nothing here needs the task runner; only ``definition`` and ``columns`` import Django.
"""

from __future__ import annotations

from .cells import CellValue, cell_text
from .converters import (
    Converter,
    ConvertOptions,
    datetime_to_excel_serial,
    excel_serial_to_datetime,
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_float,
    to_int,
    to_text,
    to_time,
)
from .errors import ConversionError, TableError
from .headers import match_headers, normalize_header
from .limits import Limits
from .readers import Table, open_table
from .writers import neutralize, write_csv, write_error_report, write_xlsx

__all__ = [
    "CellValue",
    "ConversionError",
    "ConvertOptions",
    "Converter",
    "Limits",
    "Table",
    "TableError",
    "cell_text",
    "datetime_to_excel_serial",
    "excel_serial_to_datetime",
    "match_headers",
    "neutralize",
    "normalize_header",
    "open_table",
    "to_bool",
    "to_date",
    "to_datetime",
    "to_decimal",
    "to_float",
    "to_int",
    "to_text",
    "to_time",
    "write_csv",
    "write_error_report",
    "write_xlsx",
]
