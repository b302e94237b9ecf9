"""CSV decoding: encoding detection, delimiter sniffing and streaming rows."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from bulkops import texts

from . import encodings
from .errors import TableError

BLOCK = 1024 * 1024
SAMPLE = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvLayout:
    encoding: str
    delimiter: str
    line_count: int
    """Physical lines; an upper bound on records (quoted cells may span lines)."""
    skip_first_line: bool
    """The file starts with Excel's ``sep=;`` hint line."""
    notices: tuple[texts.Text | str, ...] = ()
    """What the user should check (an encoding guessed from the content)."""


def scan(fp: BinaryIO, filename: str, *, encoding: str | None = None) -> CsvLayout:
    """One pass over the bytes to count lines and test UTF-8, then pick the encoding.

    A BOM or the user's choice wins; then strict UTF-8; then charset-normalizer's
    guess. Whichever it is, the whole file must decode in it, or it is refused with
    the line of the first bad byte.
    """
    fp.seek(0)
    head = fp.read(4)
    fp.seek(0)
    chosen = bool(encoding)
    if encoding:
        try:
            encoding = encodings.canonical(encoding)
        except LookupError:
            raise TableError(
                texts.gettext(
                    "%(encoding)s is not a text encoding this server knows.",
                    encoding=repr(encoding),
                ),
                code="bad_encoding",
            ) from None
        if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
    elif head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = ""

    newline16 = b"\n\x00" if head.startswith(codecs.BOM_UTF16_LE) else b"\x00\n"
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = encoding == ""
    lines = 0
    last = b""
    sample = b""
    while block := fp.read(BLOCK):
        if len(sample) < encodings.SAMPLE:
            sample += block[: encodings.SAMPLE - len(sample)]
        if encoding == "utf-16":
            lines += block.count(newline16)
        else:
            lines += block.count(b"\n")
        if utf8_ok:
            try:
                utf8.decode(block)
            except UnicodeDecodeError as exc:
                utf8_ok = False
                if len(sample) >= encodings.SAMPLE:
                    # The head was clean: judge by the text around the first bad byte.
                    start = block.rfind(b"\n", 0, max(exc.start, 0)) + 1
                    late = block[start : start + encodings.SAMPLE // 2]
                    sample = sample[: encodings.SAMPLE // 2] + late
        last = block[-2:]
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if last and not last.endswith(b"\n") and not last.endswith(b"\n\x00"):
        lines += 1
    notices: tuple[texts.Text | str, ...] = ()
    if encoding:
        bad = encodings.first_bad_line(fp, encoding)
        if bad is not None:
            raise encodings.refuse(filename, encoding, bad, chosen=chosen)
    elif utf8_ok:
        encoding = "utf-8"
    elif _mostly_utf8(sample):
        # Valid multi-byte UTF-8 around a bad byte: a damaged UTF-8 file, not a codepage.
        bad = encodings.first_bad_line(fp, "utf-8") or 1
        raise encodings.refuse(filename, "utf-8", bad, chosen=False)
    else:
        encoding = _detected(fp, filename, sample)
        notices = (
            texts.gettext(
                "The file was read as %(encoding)s, detected from its content. If letters look "
                "wrong below, upload it again and choose its encoding.",
                encoding=encodings.label(encoding),
            ),
        )

    fp.seek(0)
    text_sample = _decode_sample(fp, encoding)
    fp.seek(0)
    skip, delimiter = _sniff_delimiter(text_sample)
    return CsvLayout(encoding, delimiter, lines, skip, notices)


def _mostly_utf8(sample: bytes) -> bool:
    text = sample.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if char > "\x7f") - bad
    return good > 0 and good >= bad


def _detected(fp: BinaryIO, filename: str, sample: bytes) -> str:
    candidates = encodings.detect(sample)[:3]
    first_problem: tuple[str, int] | None = None
    for candidate in candidates:
        bad = encodings.first_bad_line(fp, candidate)
        if bad is None:
            return candidate
        first_problem = first_problem or (candidate, bad)
    if first_problem is None:
        first_problem = ("utf-8", encodings.first_bad_line(fp, "utf-8") or 1)
    raise encodings.refuse(filename, *first_problem, chosen=False)


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
                    texts.gettext(
                        '"%(file)s" cannot be read past line %(line)s: %(error)s.',
                        file=filename,
                        line=reader.line_num,
                        error=str(exc),
                    ),
                    code="corrupt",
                ) from None
            row_number += 1
            yield row_number, record
    finally:
        # Detach so closing the wrapper never closes the caller's file.
        text.detach()


def count_records(fp: BinaryIO, layout: CsvLayout, filename: str) -> int:
    return sum(1 for _ in iter_records(fp, layout, filename))
