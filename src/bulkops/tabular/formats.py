"""Export writers beyond .xlsx and CSV: OpenDocument (.ods) and JSON, both streamed.

The .ods file is written by hand (a zip of four small XML parts) so that exports need
no library beyond the standard one; any reader of .ods (LibreOffice, calamine) opens it.
"""

from __future__ import annotations

import datetime
import json
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, BinaryIO
from xml.sax.saxutils import escape, quoteattr

from .writers import _ILLEGAL_XML, export_value

_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" \
manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="{_MIMETYPE}"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" \
xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" \
xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name={name}>
"""
_TAIL = "</table:table></office:spreadsheet></office:body></office:document-content>\n"


def _ods_cell(value: Any) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, bool):
        text = "true" if value else "false"
        return (
            f'<table:table-cell office:value-type="boolean" office:boolean-value="{text}">'
            f"<text:p>{text.upper()}</text:p></table:table-cell>"
        )
    if isinstance(value, int | float | Decimal):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    if isinstance(value, datetime.datetime | datetime.date):
        stamp = value.isoformat()
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{stamp}">'
            f"<text:p>{stamp}</text:p></table:table-cell>"
        )
    text = escape(_ILLEGAL_XML.sub("", str(value)))
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def write_ods(
    dest: BinaryIO,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    sheet_title: str = "Export",
    tz: datetime.tzinfo | None = None,
) -> int:
    """Stream rows into an .ods workbook; returns the number of data rows written."""
    written = 0
    with zipfile.ZipFile(dest, "w") as archive:
        # The mimetype comes first and uncompressed: that is how readers recognise the file.
        archive.writestr(zipfile.ZipInfo("mimetype"), _MIMETYPE, zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _MANIFEST, zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("content.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as content:
            content.write(_HEAD.format(name=quoteattr(sheet_title[:31])).encode())

            def row_xml(values: Iterable[Any]) -> bytes:
                cells = "".join(_ods_cell(v) for v in values)
                return f"<table:table-row>{cells}</table:table-row>\n".encode()

            content.write(row_xml(str(h) for h in headers))
            for row in rows:
                # Text cells are never evaluated by a spreadsheet: no apostrophe needed.
                content.write(row_xml(export_value(v, tz, guard=False) for v in row))
                written += 1
            content.write(_TAIL.encode())
    return written


def _json_value(value: Any, tz: datetime.tzinfo | None) -> Any:
    if isinstance(value, datetime.datetime):
        return (value.astimezone(tz) if tz and value.tzinfo else value).isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def write_json(
    dest: BinaryIO,
    keys: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    tz: datetime.tzinfo | None = None,
) -> int:
    """Stream rows as a JSON array of objects keyed by ``keys`` (field paths)."""
    written = 0
    dest.write(b"[")
    for row in rows:
        item = {key: _json_value(v, tz) for key, v in zip(keys, row, strict=True)}
        dest.write((b",\n" if written else b"\n") + json.dumps(item, ensure_ascii=False).encode())
        written += 1
    dest.write(b"\n]\n")
    return written
