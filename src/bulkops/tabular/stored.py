"""A parsed upload, stored once: what every later step reads instead of the spreadsheet.

The upload step reads the workbook once, under the limits, and writes its header and
rows here as JSON lines with their types kept. The preview, the import, the error
report and the row count at submit read this file: no later step parses the workbook
again, and the row count that decides inline-versus-queue is the real one.

Plain JSON (never pickle): a file that starts like this one but was written by
someone else yields values, not code, and every limit is checked again on reading.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import IO, Any, BinaryIO

from bulkops import texts

from .cells import CellValue, ErrorCell
from .errors import TableError
from .limits import Limits
from .readers import Row, Table
from .sniff import Detected

MAGIC = b"BULKOPS-TABLE 1\n"
CHUNK = 1000
SUFFIX = ".bulkops-rows"


def _encode(value: Any) -> Any:
    if isinstance(value, ErrorCell):
        return {"e": str(value), "r": value.ref}
    if isinstance(value, datetime.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"d": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"t": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"td": value.total_seconds()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return str(value)


def _decode(value: Any) -> CellValue:
    if not isinstance(value, dict):
        return value  # type: ignore[no-any-return]
    if "e" in value:
        return ErrorCell(str(value["e"]), str(value.get("r", "")))
    if "dt" in value:
        return datetime.datetime.fromisoformat(value["dt"])
    if "d" in value:
        return datetime.date.fromisoformat(value["d"])
    if "t" in value:
        return datetime.time.fromisoformat(value["t"])
    if "td" in value:
        return datetime.timedelta(seconds=float(value["td"]))
    if "n" in value:
        return Decimal(value["n"])
    if "j" in value:  # a JSON value (a JSONField's dict or list) in an export part
        return value["j"]  # type: ignore[no-any-return]
    raise ValueError("unknown cell")


def _encoder() -> json.JSONEncoder:
    return json.JSONEncoder(ensure_ascii=False, default=_encode, check_circular=False)


def _write_lines(dest: IO[bytes], items: Iterator[Any]) -> int:
    """``items`` as JSON lines of up to ``CHUNK`` each; returns how many were written.

    One JSON line per 1,000 rows: one encoder call instead of a thousand.
    """
    encode = _encoder().encode
    count = 0
    for chunk in iter(lambda: list(itertools.islice(items, CHUNK)), []):
        dest.write(encode(chunk).encode() + b"\n")
        count += len(chunk)
    return count


def write_table(table: Table, dest: IO[bytes]) -> int:
    """Read every row of ``table`` once and store them; returns the number of data rows.

    A reader error (too many rows, a broken sheet) raises TableError here, at upload,
    instead of in the middle of an import. Rows go through a temporary file because the
    count, which heads the stored file, is only known at the end.
    """
    errors = table.may_hold_errors

    def numbered() -> Iterator[tuple[int, Sequence[Any]]]:
        for number, values in table.rows():
            if errors and ErrorCell in set(map(type, values)):
                # ErrorCell is a str: JSON would store it as plain text without this.
                values = [_encode(v) if v.__class__ is ErrorCell else v for v in values]
            yield number, values

    with tempfile.TemporaryFile() as rows_file:
        count = _write_lines(rows_file, numbered())
        encode = _encoder().encode
        meta = {
            "filename": table.filename,
            "format": table.format,
            "headers": table.headers,
            "header_row": table.header_row,
            "sheet_name": table.sheet_name,
            "sheet_names": table.sheet_names,
            "date1904": table.date1904,
            "encoding": table.encoding,
            "delimiter": table.delimiter,
            "row_count": count,
            # Kept as message ids, so the preview shows them in the reader's language.
            "notices": [n.as_json() if isinstance(n, texts.Text) else n for n in table.notices],
        }
        dest.write(MAGIC)
        dest.write(encode(meta).encode())
        dest.write(b"\n")
        rows_file.seek(0)
        shutil.copyfileobj(rows_file, dest, 1024 * 1024)
    return count


PART_MAGIC = b"BULKOPS-PART 1\n"


def write_part(dest: IO[bytes], rows: Iterator[Sequence[Any]]) -> int:
    """Rows of one shard of an export, typed as in a stored table; returns their number.

    The shards of an export write these, and the worker that ends the job reads them back
    in order (``read_part``) into the one file the user downloads.
    """

    def marked() -> Iterator[Sequence[Any]]:
        for values in rows:
            if any(isinstance(v, dict | list) for v in values):
                values = [{"j": v} if isinstance(v, dict | list) else v for v in values]
            yield values

    dest.write(PART_MAGIC)
    return _write_lines(dest, marked())


def read_part(fp: IO[bytes]) -> Iterator[list[Any]]:
    """The rows ``write_part`` wrote, with their types."""
    if fp.read(len(PART_MAGIC)) != PART_MAGIC:
        raise ValueError("not an export part")
    # readline, not iteration: a Django File iterates from its start again.
    while line := fp.readline():
        for values in json.loads(line):
            yield [_decode(v) for v in values]


def is_stored(fp: BinaryIO) -> bool:
    position = fp.tell()
    try:
        return fp.read(len(MAGIC)) == MAGIC
    finally:
        fp.seek(position)


def _read_meta(fp: BinaryIO) -> dict[str, Any]:
    fp.seek(len(MAGIC))
    line = fp.readline(16 * 1024 * 1024)
    meta = json.loads(line)
    if not isinstance(meta, dict) or not isinstance(meta.get("headers"), list):
        raise ValueError("bad header")
    return meta


def stored_row_count(fp: BinaryIO) -> int | None:
    """The exact data row count of a stored table, or None for any other file."""
    fp.seek(0)
    try:
        if not is_stored(fp):
            return None
        count = _read_meta(fp).get("row_count")
        return int(count) if isinstance(count, int) else None
    except ValueError:
        return None
    finally:
        fp.seek(0)


class StoredTable(Table):
    """Reads what ``write_table`` stored; limits are checked again while reading."""

    def __init__(self, fp: BinaryIO, filename: str, limits: Limits) -> None:
        super().__init__(fp, Detected("csv", 0), filename, limits)
        try:
            meta = _read_meta(fp)
        except ValueError:
            raise TableError(
                texts.gettext('"%(file)s" is damaged and cannot be read.', file=filename),
                code="corrupt",
            ) from None
        self._start = fp.tell()
        self.filename = str(meta.get("filename") or filename)
        self.format = meta.get("format") or "csv"
        self.headers = [str(h) for h in meta["headers"]]
        self._check_columns(len(self.headers))
        self.header_row = int(meta.get("header_row") or 1)
        self.sheet_name = meta.get("sheet_name")
        self.sheet_names = list(meta.get("sheet_names") or [])
        self.date1904 = bool(meta.get("date1904"))
        self.encoding = meta.get("encoding")
        self.delimiter = meta.get("delimiter")
        self.row_count = int(meta.get("row_count") or 0)
        self.notices = [
            texts.Text.from_json(n) if isinstance(n, dict) else str(n)
            for n in meta.get("notices") or []
        ]

    def _records(self, skip_lines: int = 0) -> Iterator[tuple[int, Sequence[CellValue]]]:
        self._fp.seek(self._start)
        width = len(self.headers)
        # readline, not iteration: Django's File.__iter__ starts again from byte 0.
        while line := self._fp.readline():
            if not line.strip():
                continue
            if skip_lines:
                # A shard's rows start further on: whole lines are passed without parsing.
                skip_lines -= 1
                continue
            try:
                chunk = json.loads(line)
                rows = [
                    (
                        int(number),
                        [v if v.__class__ is not dict else _decode(v) for v in values[:width]],
                    )
                    for number, values in chunk
                ]
            except (ValueError, TypeError) as exc:
                raise TableError(
                    texts.gettext('"%(file)s" is damaged and cannot be read.', file=self.filename),
                    code="corrupt",
                ) from exc
            yield from rows

    def rows(self, *, after: int = 0) -> Iterator[Row]:
        return self._shape(self._records(), after)

    def row_range(self, start: int, stop: int) -> Iterator[Row]:
        # write_table stores CHUNK rows per line (only the last line is shorter), and only
        # rows that hold a value, so row position p is on line p // CHUNK.
        lines = start // CHUNK
        rows = self._shape_part(self._records(lines), lines * CHUNK)
        return itertools.islice(rows, start - lines * CHUNK, stop - lines * CHUNK)

    def _shape_part(
        self, records: Iterator[tuple[int, Sequence[CellValue]]], before: int
    ) -> Iterator[Row]:
        # _shape counts rows against MAX_ROWS from the first record it sees.
        self.limits = dataclasses.replace(self.limits, max_rows=self.limits.max_rows - before)
        return self._shape(records, 0)
