"""CSV decoding: encoding detection, delimiter sniffing and streaming rows."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .errors import TableError

BLOCK = 1024 * 1024
SAMPLE = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
# Bytes cp1252 leaves undefined; a file holding them is decoded as latin-1 instead.
_CP1252_HOLES = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


@dataclass(frozen=True)
class CsvLayout:
    encoding: str
    delimiter: str
    line_count: int
    """Physical lines; an upper bound on records (quoted cells may span lines)."""
    skip_first_line: bool
    """The file starts with Excel's ``sep=;`` hint line."""


def scan(fp: BinaryIO, filename: str) -> CsvLayout:
    """One pass over the bytes: pick the encoding and count lines."""
    fp.seek(0)
    head = fp.read(4)
    fp.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = ""

    newline16 = b"\n\x00" if head.startswith(codecs.BOM_UTF16_LE) else b"\x00\n"
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = encoding == ""
    cp1252_ok = True
    lines = 0
    last = b""
    while block := fp.read(BLOCK):
        if encoding == "utf-16":
            lines += block.count(newline16)
        else:
            lines += block.count(b"\n")
        if utf8_ok:
            try:
                utf8.decode(block)
            except UnicodeDecodeError:
                utf8_ok = False
        if cp1252_ok and not encoding and _CP1252_HOLES.search(block):
            cp1252_ok = False
        last = block[-2:]
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if last and not last.endswith(b"\n") and not last.endswith(b"\n\x00"):
        lines += 1
    if not encoding:
        encoding = "utf-8" if utf8_ok else ("cp1252" if cp1252_ok else "latin-1")

    fp.seek(0)
    sample = _decode_sample(fp, encoding)
    fp.seek(0)
    skip, delimiter = _sniff_delimiter(sample)
    return CsvLayout(encoding, delimiter, lines, skip)


def _decode_sample(fp: BinaryIO, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(fp.read(SAMPLE))


def _sniff_delimiter(sample: str) -> tuple[bool, str]:
    first_line = sample.split("\n", 1)[0].strip("\r\ufeff")
    hint = re.fullmatch(r"\"?sep=(.)\"?", first_line)
    if hint:
        return True, hint.group(1)
    lines = sample.splitlines()
    if len(sample) >= SAMPLE and len(lines) > 1:
        lines = lines[:-1]  # the cut may split the last line
    lines = [line for line in lines if line.strip()][:50]
    if not lines:
        return False, ","
    best = (0.0, 0, ",")
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        header = counts[0]
        if header < 2:
            continue
        consistency = sum(1 for n in counts if n == header) / len(counts)
        score = (consistency, header, delimiter)
        if score[:2] > best[:2]:
            best = score
    return False, best[2]


def iter_records(fp: BinaryIO, layout: CsvLayout, filename: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (row number, fields), numbered as Excel shows the file: one row per record.

    A quoted cell spanning several lines stays one row, and Excel's ``sep=`` hint line
    is not a row.
    """
    fp.seek(0)
    text = io.TextIOWrapper(fp, encoding=layout.encoding, newline="")  # type: ignore[type-var]
    try:
        reader = csv.reader(text, delimiter=layout.delimiter)
        if layout.skip_first_line:
            next(reader, None)
        row_number = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise TableError(
                    f'"{filename}" cannot be read past line {reader.line_num}: {exc}.',
                    code="corrupt",
                ) from None
            row_number += 1
            yield row_number, record
    finally:
        # Detach so closing the wrapper never closes the caller's file.
        text.detach()


def count_records(fp: BinaryIO, layout: CsvLayout, filename: str) -> int:
    return sum(1 for _ in iter_records(fp, layout, filename))
