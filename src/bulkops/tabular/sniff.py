"""Identify an uploaded file from its bytes and refuse hostile ones before parsing.

Everything here reads only the zip directory and a few small members, so a file
is judged before any decompression of sheet data happens.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import BinaryIO, Literal

from bulkops import texts

from . import csvread
from .errors import TableError
from .limits import Limits
from .parts import SheetRef, _read_member, _xlsb_sheets, _xlsx_sheets
from .scan import SheetScan, count_rows, ods_is_encrypted, scan_archive

Format = Literal["xlsx", "xlsb", "ods", "xls", "csv"]

EXTENSIONS: dict[str, Format] = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xlsb": "xlsb",
    ".ods": "ods",
    ".xls": "xls",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}
FORMAT_NAMED: dict[Format, str] = {
    "xlsx": texts.gettext_noop("an Excel workbook (.xlsx)"),
    "xlsb": texts.gettext_noop("an Excel binary workbook (.xlsb)"),
    "ods": texts.gettext_noop("an OpenDocument spreadsheet (.ods)"),
    "xls": texts.gettext_noop("an Excel 97-2003 workbook (.xls)"),
    "csv": texts.gettext_noop("a CSV text file"),
}
FORMAT_LABELS: dict[Format, str] = {
    "xlsx": "Excel workbook (.xlsx)",
    "xlsb": "Excel binary workbook (.xlsb)",
    "ods": "OpenDocument spreadsheet (.ods)",
    "xls": "Excel 97-2003 workbook (.xls)",
    "csv": "CSV text file",
}

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
# Excel stores a password-protected workbook of any kind as a CFB container holding
# these streams; the names sit in the directory as UTF-16LE.
CFB_ENCRYPTION_MARKERS = (
    "EncryptionInfo".encode("utf-16-le"),
    "EncryptedPackage".encode("utf-16-le"),
)
# Other binary formats people upload by mistake, named in the message.
FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", texts.gettext_noop("a PDF document")),
    (b"\x89PNG", texts.gettext_noop("a PNG image")),
    (b"\xff\xd8\xff", texts.gettext_noop("a JPEG image")),
    (b"GIF8", texts.gettext_noop("a GIF image")),
    (b"\x1f\x8b", texts.gettext_noop("a gzip archive")),
    (b"Rar!", texts.gettext_noop("a RAR archive")),
    (b"7z\xbc\xaf", texts.gettext_noop("a 7-Zip archive")),
)


@dataclass(frozen=True)
class Detected:
    format: Format
    size: int
    date1904: bool = False
    sheets: tuple[SheetRef, ...] = ()
    scans: dict[str, SheetScan] = field(default_factory=dict)
    """What each xlsx sheet really holds, by zip member (see scan.py)."""


def human_size(size: int) -> texts.Text:
    """A file size in the reader's number format: "1.1 MB", "1,1 MB"."""
    if size < 1024:
        return texts.ngettext("%(count)s byte", "%(count)s bytes", size)
    if size < 1024 * 1024:
        return texts.gettext("%(size)s KB", size=round(size / 1024))
    return texts.gettext("%(size)s MB", size=round(size / (1024 * 1024), 1))


def format_for_filename(filename: str) -> Format:
    suffix = PurePath(filename).suffix.lower()
    try:
        return EXTENSIONS[suffix]
    except KeyError:
        shown = suffix or texts.gettext("(no extension)")
        raise TableError(
            texts.gettext(
                '"%(file)s" has the file type %(type)s, which cannot be imported. '
                "Upload an .xlsx, .xlsb, .ods, .xls or .csv file.",
                file=filename,
                type=shown,
            ),
            code="unsupported_type",
        ) from None


def file_size(fp: BinaryIO) -> int:
    size = getattr(fp, "size", None)
    if isinstance(size, int):
        return size
    position = fp.tell()
    end = fp.seek(0, 2)
    fp.seek(position)
    return end


def detect(fp: BinaryIO, filename: str, limits: Limits, *, scan: bool = True) -> Detected:
    """Check size and content against the extension; raise TableError when they disagree.

    ``scan=False`` leaves out the pass over an .xlsx workbook's parts (``scans`` stays
    empty): for a count at submit time only, never before a parser runs.
    """
    expected = format_for_filename(filename)
    size = file_size(fp)
    if size == 0:
        raise TableError(texts.gettext('"%(file)s" is empty.', file=filename), code="empty")
    if size > limits.max_file_size:
        raise TableError(
            texts.gettext(
                '"%(file)s" is %(size)s; the largest file accepted is %(limit)s.',
                file=filename,
                size=human_size(size),
                limit=human_size(limits.max_file_size),
            ),
            code="too_large",
        )
    fp.seek(0)
    head = fp.read(4096)
    fp.seek(0)

    if head.startswith(CFB_MAGIC):
        return _detect_cfb(fp, filename, expected, size, limits)
    if head.startswith(ZIP_MAGIC):
        return _detect_zip(fp, filename, expected, size, limits, scan=scan)
    if expected == "csv":
        _check_text(head, filename)
        return Detected("csv", size)
    for magic, label in FOREIGN_MAGIC:
        if head.startswith(magic):
            raise _mismatch(filename, expected, label)
    raise _mismatch(filename, expected, texts.gettext_noop("not a spreadsheet"))


def _mismatch(filename: str, expected: Format, actual: str) -> TableError:
    # ``actual`` is an English message id (gettext_noop), rendered for the reader.
    return TableError(
        texts.gettext(
            '"%(file)s" is named like %(expected)s but its content is %(actual)s. Save it in '
            "the right format and upload it again.",
            file=filename,
            expected=texts.Text(FORMAT_NAMED[expected]),
            actual=texts.Text(actual),
        ),
        code="content_mismatch",
    )


def _encrypted(filename: str) -> TableError:
    return TableError(
        texts.gettext(
            '"%(file)s" is protected with a password. Remove the password '
            "(in Excel: File > Info > Protect Workbook) and upload it again.",
            file=filename,
        ),
        code="encrypted",
    )


def _corrupt(filename: str, expected: Format) -> TableError:
    return TableError(
        texts.gettext(
            '"%(file)s" is damaged and cannot be read as %(expected)s. '
            "Open it in your spreadsheet program, save it again and upload the new copy.",
            file=filename,
            expected=texts.Text(FORMAT_NAMED[expected]),
        ),
        code="corrupt",
    )


def _detect_cfb(
    fp: BinaryIO, filename: str, expected: Format, size: int, limits: Limits
) -> Detected:
    # The CFB directory is usually near the start but may sit anywhere; the file is
    # already bounded by max_file_size, so scanning it in blocks is cheap.
    overlap = 64
    tail = b""
    while block := fp.read(1024 * 1024):
        window = tail + block
        if any(marker in window for marker in CFB_ENCRYPTION_MARKERS) or _xls_filepass(window):
            fp.seek(0)
            raise _encrypted(filename)
        tail = window[-overlap:]
    fp.seek(0)
    if expected == "xls":
        return _detect_xls(fp, filename, size, limits)
    raise _mismatch(filename, expected, FORMAT_NAMED["xls"])


def _detect_xls(fp: BinaryIO, filename: str, size: int, limits: Limits) -> Detected:
    """Each sheet's used area and error cells, from the records (see xlsscan.py).

    calamine builds every sheet of an .xls as soon as it opens it, so every sheet must
    fit, not only the one that will be read.
    """
    from .scan import check_area, too_many_strings
    from .xlsscan import NotReadable, count_shared_strings, scan_sheets, workbook_stream

    try:
        stream = workbook_stream(fp, size)
        found = scan_sheets(stream)
        strings = count_shared_strings(stream, limits.max_shared_strings)
    except (NotReadable, struct.error, ValueError):
        return Detected("xls", size)  # calamine will judge it (and call it damaged)
    finally:
        fp.seek(0)
    if strings > limits.max_shared_strings:
        raise too_many_strings(filename, limits)
    refs = tuple(SheetRef(name, f"xls:{index}") for index, (name, _, _) in enumerate(found))
    scans = {f"xls:{index}": scan for index, (_, _, scan) in enumerate(found)}
    for scan in scans.values():
        check_area(filename, scan, limits)
    return Detected("xls", size, sheets=refs, scans=scans)


# The BOF record that opens the workbook globals of a BIFF5/BIFF8 stream. An .xls saved
# with a password has a FILEPASS record (type 0x002F) right behind it.
_XLS_GLOBALS_BOF = re.compile(rb"\x09\x08([\x08\x10])\x00\x00[\x05\x06]\x05\x00")


def _xls_filepass(window: bytes) -> bool:
    for match in _XLS_GLOBALS_BOF.finditer(window):
        after = match.start() + 4 + match.group(1)[0]
        if window[after : after + 2] == b"\x2f\x00":
            return True
    return False


def _check_text(head: bytes, filename: str) -> None:
    for magic, label in FOREIGN_MAGIC:
        if head.startswith(magic):
            raise _mismatch(filename, "csv", label)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 with a byte order mark: NUL bytes are expected
    if b"\x00" in head:
        raise _mismatch(filename, "csv", texts.gettext_noop("binary data, not text"))


def _detect_zip(
    fp: BinaryIO, filename: str, expected: Format, size: int, limits: Limits, *, scan: bool = True
) -> Detected:
    if expected == "csv":
        raise _mismatch(
            filename, expected, texts.gettext_noop("a zip archive (perhaps an .xlsx workbook)")
        )
    if expected == "xls":
        raise _mismatch(
            filename, expected, texts.gettext_noop("a zip archive (perhaps an .xlsx workbook)")
        )
    try:
        archive = zipfile.ZipFile(fp)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _corrupt(filename, expected) from None
    try:
        _check_zip_directory(infos, filename, expected, limits)
        names = {info.filename for info in infos}
        if "[Content_Types].xml" in names and "xl/workbook.bin" in names:
            actual: Format = "xlsb"
        elif "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            actual = "xlsx"
        elif "mimetype" in names and _read_member(archive, "mimetype", 256).strip() == ODS_MIMETYPE:
            actual = "ods"
        elif "word/document.xml" in names:
            raise _mismatch(filename, expected, texts.gettext_noop("a Word document"))
        elif "ppt/presentation.xml" in names:
            raise _mismatch(filename, expected, texts.gettext_noop("a PowerPoint presentation"))
        elif "mimetype" in names:
            raise _mismatch(
                filename,
                expected,
                texts.gettext_noop("an OpenDocument file that is not a spreadsheet"),
            )
        else:
            raise _mismatch(
                filename, expected, texts.gettext_noop("a zip archive, not a spreadsheet")
            )
        if actual != expected:
            raise _mismatch(filename, expected, FORMAT_NAMED[actual])
        if actual == "ods" and ods_is_encrypted(archive):
            raise _encrypted(filename)
        if actual == "xlsb":
            refs = _xlsb_sheets(archive, names)
            scans = scan_archive(archive, filename, limits, {r.path for r in refs if r.path})
            return Detected(actual, size, sheets=refs, scans=scans)
        if actual != "xlsx":
            # For .ods the scan measures each table's used area, repeats included.
            scans = scan_archive(archive, filename, limits, {"content.xml"})
            return Detected(actual, size, scans=scans)
        workbook_xml = _read_member(archive, "xl/workbook.xml", 4 * 1024 * 1024).decode(
            "utf-8", "replace"
        )
        date1904 = bool(re.search(r"date1904\s*=\s*\"(1|true)\"", workbook_xml))
        sheets = _xlsx_sheets(archive, workbook_xml, names)
        if not scan:
            return Detected("xlsx", size, date1904=date1904, sheets=sheets)
        scans = scan_archive(archive, filename, limits, {s.path for s in sheets if s.path})
        return Detected("xlsx", size, date1904=date1904, sheets=sheets, scans=scans)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, zlib.error):
        raise _corrupt(filename, expected) from None
    finally:
        archive.close()
        fp.seek(0)


def _check_zip_directory(
    infos: list[zipfile.ZipInfo], filename: str, expected: Format, limits: Limits
) -> None:
    if len(infos) > limits.max_zip_members:
        raise _bomb(filename)
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _encrypted(filename)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _corrupt(filename, expected)
        total += info.file_size
        compressed = max(info.compress_size, 1)
        # Tiny members (mimetype, rels) may compress oddly; only big ones matter.
        if (
            info.file_size > 1024 * 1024
            and info.file_size / compressed > limits.max_compression_ratio
        ):
            raise _bomb(filename)
    if total > limits.max_uncompressed_size:
        raise _bomb(filename)


def _bomb(filename: str) -> TableError:
    return TableError(
        texts.gettext(
            '"%(file)s" would expand to far more data than a spreadsheet of its size holds '
            "and was refused as unsafe.",
            file=filename,
        ),
        code="zip_bomb",
    )


def estimate_rows(
    source: BinaryIO,
    *,
    filename: str,
    limits: Limits | None = None,
    stored: bool = False,
    exact_below: int | None = None,
) -> int | None:
    """Data rows, read cheaply from the file's own metadata; None when unknown.

    Used where loading the sheet would be wasteful (counting a job at submit time): a
    parsed upload by its stored count, CSV by its lines, xlsx by the cells that really
    hold values (never by the ``<dimension>`` the file declares).

    ``exact_below``: an .xlsx sheet is read only until it has shown more rows than this;
    the count is exact under it and an estimate (never lower than it) above. Submit
    only needs to know whether a job is small enough to run inline; the worker counts
    every row when it opens the file, before the first chunk.
    """
    from . import stored as stored_table

    limits = limits or Limits()
    try:
        count = stored_table.stored_row_count(source) if stored else None
        if count is not None:
            return count
        detected = detect(source, filename, limits, scan=exact_below is None)
        if detected.format == "csv":
            layout = csvread.scan(source, filename)
            return max(layout.line_count - 1 - int(layout.skip_first_line), 0)
        if not detected.scans and detected.format == "xlsx":
            source.seek(0)
            with zipfile.ZipFile(source) as archive:
                for ref in detected.sheets:
                    if ref.path:
                        found = count_rows(archive, ref.path, exact_below or 0, limits)
                        if found != 0:
                            return found
            return 0
        for ref in detected.sheets:
            scan = detected.scans.get(ref.path or "")
            if scan is not None and scan.cells:
                return scan.last_row - scan.first_row
    except (TableError, OSError, ValueError, KeyError, zipfile.BadZipFile, zlib.error):
        return None
    finally:
        source.seek(0)
    return None
