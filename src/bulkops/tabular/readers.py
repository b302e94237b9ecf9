"""``open_table``: one entry point that reads .xlsx/.xlsm/.xlsb/.ods/.xls/.csv as rows."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

from bulkops import texts

from . import csvread
from .cells import CellValue, ErrorCell, cell_text, is_empty
from .errors import TableError
from .limits import Limits
from .scan import SheetScan, column_letters
from .sniff import Detected, Format, detect

Engine = Literal["auto", "calamine", "openpyxl"]
Row = tuple[int, list[CellValue]]


class Table:
    """A sheet (or CSV file) with a header row, read lazily.

    ``rows()`` yields ``(row_number, values)`` where ``row_number`` is what the user
    sees in their spreadsheet program (the header is usually row 1) and ``values``
    has exactly one entry per header, ``None`` for an empty cell. Blank rows are
    skipped but keep their numbers.
    """

    filename: str
    format: Format
    headers: list[str]
    header_row: int
    sheet_name: str | None
    sheet_names: list[str]
    row_count: int
    """Data rows below the header; for CSV an upper bound (a quoted cell may span lines)."""
    date1904: bool
    encoding: str | None = None
    delimiter: str | None = None
    notices: list[texts.Text | str]
    """Things the user should check before importing (an encoding that was guessed)."""
    may_hold_errors = False
    """True when some cell may be an :class:`ErrorCell` (``#DIV/0!``...)."""

    def __init__(self, fp: BinaryIO, detected: Detected, filename: str, limits: Limits) -> None:
        self._fp = fp
        self.filename = filename
        self.format = detected.format
        self.date1904 = detected.date1904
        self.limits = limits
        self._owned: list[IO[Any]] = []
        self._lead = 0
        self._closers: list[Any] = []
        self.notices = []

    # Context manager and cleanup ------------------------------------------------
    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for closer in self._closers:
            # Closing must never mask the error that brought us here.
            with contextlib.suppress(Exception):
                closer()
        for fp in self._owned:
            fp.close()
        self._closers.clear()
        self._owned.clear()

    def row_range(self, start: int, stop: int) -> Iterator[Row]:
        """Data rows ``start`` to ``stop`` (positions, 0-based, among non-empty rows), with
        their file row numbers: one shard's part of the file."""
        return itertools.islice(self.rows(), start, stop)

    def rows(self, *, after: int = 0) -> Iterator[Row]:
        """Data rows in order; ``after`` skips rows numbered up to it (to resume)."""
        raise NotImplementedError

    def preview(self, count: int) -> list[Row]:
        rows = []
        for row in self.rows():
            rows.append(row)
            if len(rows) >= count:
                break
        return rows

    # Shared helpers ------------------------------------------------------------
    def _too_many_rows(self) -> TableError:
        return TableError(
            texts.gettext(
                '"%(file)s" has more than %(limit)s rows, the most one import accepts. '
                "Split it into smaller files.",
                file=self.filename,
                limit=self.limits.max_rows,
            ),
            code="too_many_rows",
        )

    def _check_columns(self, count: int) -> None:
        if count > self.limits.max_columns:
            raise TableError(
                texts.gettext(
                    '"%(file)s" has %(count)s columns; the most accepted is %(limit)s. '
                    "Delete the unused columns and upload it again.",
                    file=self.filename,
                    count=count,
                    limit=self.limits.max_columns,
                ),
                code="too_many_columns",
            )

    def _take_header(self, records: Iterator[tuple[int, Sequence[CellValue]]]) -> None:
        for number, record in records:
            if any(not is_empty(value) for value in record):
                headers = [cell_text(value).strip() for value in record]
                while headers and not headers[-1]:
                    headers.pop()
                # openpyxl starts every row at column A; calamine at the first used one.
                self._lead = next(i for i, header in enumerate(headers) if header)
                headers = headers[self._lead :]
                self._check_columns(len(headers))
                self.headers = headers
                self.header_row = number
                return
        raise TableError(
            texts.gettext('"%(file)s" has no header row: the sheet is empty.', file=self.filename),
            code="no_header",
        )

    def _shape(
        self, records: Iterator[tuple[int, Sequence[CellValue]]], after: int
    ) -> Iterator[Row]:
        width = len(self.headers)
        lead = self._lead
        limit = self.limits.max_rows
        seen = 0
        for number, record in self._guard(records):
            if number <= self.header_row:
                continue
            seen += 1
            if seen > limit:
                raise self._too_many_rows()
            if number <= after:
                continue
            # Inlined is_empty(): this runs once per cell of the file.
            values: list[CellValue] = [
                None
                if value is None or (value.__class__ is str and (not value or value.isspace()))  # type: ignore[union-attr]
                else value
                for value in record[lead : lead + width]
            ]
            if values.count(None) == len(values):
                continue
            if len(values) < width:
                values.extend([None] * (width - len(values)))
            yield number, values

    def _guard(
        self, records: Iterator[tuple[int, Sequence[CellValue]]]
    ) -> Iterator[tuple[int, Sequence[CellValue]]]:
        # Parsers fail late too (an XML error deep in a sheet, a pyo3 panic): the user
        # gets the same clear refusal as at open, never a 500 with a parser's message.
        number = self.header_row if hasattr(self, "header_row") else 0
        try:
            for number, record in records:  # noqa: B007 - number is read in except
                yield number, record
        except TableError:
            raise
        except BaseException as exc:
            if not isinstance(exc, Exception) and not _is_panic(exc):
                raise
            raise TableError(
                texts.gettext(
                    '"%(file)s" is damaged after row %(row)s and cannot be read. Open it in your '
                    "spreadsheet program, save it again and upload the new copy.",
                    file=self.filename,
                    row=number,
                ),
                code="corrupt",
            ) from exc

    # Sheets of a workbook --------------------------------------------------------
    def _scan_for(self, detected: Detected, index: int) -> SheetScan | None:
        if index < len(detected.sheets):
            return detected.scans.get(detected.sheets[index].path or "")
        return detected.scans.get(f"#{index}")  # .ods tables, in document order

    def _inject_errors(
        self, records: Iterator[tuple[int, Sequence[CellValue]]], scan: SheetScan | None, first: int
    ) -> Iterator[tuple[int, Sequence[CellValue]]]:
        """Put error cells back: both engines hand them over as empty or as plain text.

        ``first`` is the 1-based sheet column of a record's first value.
        """
        if scan is None or not scan.errors:
            yield from records
            return
        by_row: dict[int, list[tuple[int, str]]] = {}
        for (row, column), code in scan.errors.items():
            by_row.setdefault(row, []).append((column, code))
        for number, record in records:
            found = by_row.get(number)
            if found:
                values = list(record)
                for column, code in found:
                    index = column - first
                    if 0 <= index < len(values) and values[index] in (None, "", code):
                        values[index] = ErrorCell(code, f"{column_letters(column)}{number}")
                    elif index >= len(values):
                        values.extend([None] * (index - len(values)))
                        values.append(ErrorCell(code, f"{column_letters(column)}{number}"))
                record = values
            yield number, record


class CsvTable(Table):
    def __init__(
        self,
        fp: BinaryIO,
        detected: Detected,
        filename: str,
        limits: Limits,
        encoding: str | None = None,
    ) -> None:
        super().__init__(fp, detected, filename, limits)
        layout = csvread.scan(fp, filename, encoding=encoding)
        self._layout = layout
        self.encoding = layout.encoding
        self.notices = list(layout.notices)
        self.delimiter = layout.delimiter
        self.sheet_name = None
        self.sheet_names = []
        estimate = layout.line_count - 1 - int(layout.skip_first_line)
        if (
            estimate > limits.max_rows
            and csvread.count_records(fp, layout, filename) - 1 > limits.max_rows
        ):
            raise self._too_many_rows()
        self._take_header(self._records())
        self.row_count = max(estimate - (self.header_row - 1), 0)

    def _records(self) -> Iterator[tuple[int, Sequence[CellValue]]]:
        limit = self.limits.max_columns
        max_chars = self.limits.max_cell_chars
        for number, record in csvread.iter_records(self._fp, self._layout, self.filename):
            if len(record) > limit:
                self._check_columns(len(record))
            for value in record:
                if len(value) > max_chars:
                    raise TableError(
                        texts.gettext(
                            '"%(file)s" row %(row)s holds a cell of %(count)s characters; '
                            "the most a cell may hold is %(limit)s.",
                            file=self.filename,
                            row=number,
                            count=len(value),
                            limit=max_chars,
                        ),
                        code="cell_too_long",
                    )
            yield number, record

    def rows(self, *, after: int = 0) -> Iterator[Row]:
        return self._shape(self._records(), after)


def _pick_sheet(
    filename: str,
    names: list[str],
    usable: list[bool],
    sheet: str | int | None,
    has_data: Any = None,
) -> int:
    """The sheet the user named, else the first visible worksheet that holds a value."""
    if not names:
        raise TableError(
            texts.gettext('"%(file)s" contains no sheets.', file=filename), code="no_header"
        )
    if sheet is None:
        candidates = [i for i, ok in enumerate(usable) if ok] or [0]
        if has_data is not None:
            for index in candidates:
                if has_data(index):
                    return index
        return candidates[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return sheet
    elif sheet in names:
        return names.index(sheet)
    raise TableError(
        texts.gettext(
            '"%(file)s" has no sheet %(sheet)s; its sheets are %(sheets)s.',
            file=filename,
            sheet=repr(sheet),
            sheets=", ".join(map(repr, names)),
        ),
        code="no_sheet",
    )


def _is_panic(exc: BaseException) -> bool:
    # pyo3 panics derive from BaseException; a malformed file must not escape as one.
    return type(exc).__name__ == "PanicException"


def open_table(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    filename: str | None = None,
    limits: Limits | None = None,
    sheet: str | int | None = None,
    engine: Engine = "auto",
    encoding: str | None = None,
    stored: bool = False,
) -> Table:
    """Open a spreadsheet or CSV file and read its header row.

    Every check that can refuse the file (size, type, encryption, zip bomb, rows,
    columns) runs here, before a single data row is yielded; all of them raise
    :class:`TableError`. ``filename`` is the name the user uploaded (its extension
    decides the expected format); it defaults to the path's name. ``encoding`` forces
    the text encoding of a CSV file instead of detecting it. ``stored=True`` reads a
    stored table (stored.py) the server wrote itself; without it such a file is read
    as what its name says, so an upload can never hand the server pre-parsed rows.
    """
    limits = limits or Limits()
    owned: BinaryIO | None = None
    fp: BinaryIO
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        filename = filename or path.name
        try:
            fp = path.open("rb")
            owned = fp
        except OSError as exc:
            raise TableError(
                texts.gettext(
                    '"%(file)s" cannot be opened: %(error)s.', file=filename, error=exc.strerror
                ),
                code="unreadable",
            ) from None
    else:
        fp = _seekable(source)
        if fp is not source:
            owned = fp
        filename = filename or os.path.basename(str(getattr(source, "name", "") or "")) or "upload"
    try:
        table = _open(fp, filename, limits, sheet, engine, encoding, stored)
    except TableError:
        if owned:
            owned.close()
        raise
    except BaseException as exc:
        if owned:
            owned.close()
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError | TableError):
            raise
        if not isinstance(exc, Exception) and not _is_panic(exc):
            raise
        raise TableError(
            texts.gettext(
                '"%(file)s" is damaged or not a valid spreadsheet and cannot be read.',
                file=filename,
            ),
            code="corrupt",
        ) from exc
    if owned:
        table._owned.append(owned)
    return table


def _open(
    fp: BinaryIO,
    filename: str,
    limits: Limits,
    sheet: str | int | None,
    engine: Engine,
    encoding: str | None = None,
    stored: bool = False,
) -> Table:
    from .engines import CalamineTable, OpenpyxlTable
    from .stored import StoredTable, is_stored

    if stored and is_stored(fp):
        return StoredTable(fp, filename, limits)
    detected = detect(fp, filename, limits)
    if detected.format == "csv":
        return CsvTable(fp, detected, filename, limits, encoding)
    if detected.format == "xlsx" and (
        engine == "openpyxl" or (engine == "auto" and _too_big_for_calamine(detected))
    ):
        return OpenpyxlTable(fp, detected, filename, limits, sheet)
    try:
        return CalamineTable(fp, detected, filename, limits, sheet)
    except TableError:
        raise
    except BaseException as exc:
        if detected.format != "xlsx" or engine == "calamine":
            raise
        if not isinstance(exc, Exception) and not _is_panic(exc):
            raise
    fp.seek(0)
    return OpenpyxlTable(fp, detected, filename, limits, sheet)


# calamine holds a whole sheet's cells in memory (tens of bytes per cell); above this
# much sheet XML the streaming openpyxl reader keeps memory flat instead.
CALAMINE_MAX_SHEET_XML = 192 * 1024 * 1024


def _too_big_for_calamine(detected: Detected) -> bool:
    return any(ref.xml_size > CALAMINE_MAX_SHEET_XML for ref in detected.sheets)


def _seekable(source: BinaryIO) -> BinaryIO:
    try:
        if source.seekable():
            source.seek(0)
            return source
    except (AttributeError, OSError):
        pass
    # Network streams (e.g. some storage backends) cannot seek; spool to disk once.
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the Table, closed there
    shutil.copyfileobj(source, spooled)
    spooled.seek(0)
    return spooled  # type: ignore[return-value]
