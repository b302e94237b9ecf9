"""Workbooks written byte by byte, as Excel, LibreOffice and hostile tools write them.

openpyxl cannot write what these tests need (a lying ``<dimension>``, error cells the
way Excel stores them, entity declarations, .xlsb, password-protected .xls/.ods), so
the parts are assembled here from the file formats' own layouts.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

from bulkops.tabular.scan import column_letters

from .files import cfb_bytes

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def cells_xml(rows: Iterable[Sequence[Any]], start_row: int = 1) -> str:
    """``<row>`` elements; a value ``("#DIV/0!", "1/0")`` is an error cell with its formula."""
    out = []
    for r, row in enumerate(rows, start=start_row):
        cells = []
        for c, value in enumerate(row, start=1):
            ref = f"{column_letters(c)}{r}"
            if value is None:
                continue
            if isinstance(value, tuple):
                code, formula = value
                cells.append(
                    f'<c r="{ref}" t="e"><f>{escape(formula)}</f><v>{escape(code)}</v></c>'
                )
            elif isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(out)


def sheet_xml(body: str, dimension: str = "A1", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
        f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><dimension ref="{dimension}"/>'
        f"<sheetData>{body}</sheetData></worksheet>"
    ).encode()


def raw_xlsx(
    sheets: Sequence[tuple[str, bytes]],
    *,
    shared_strings: bytes | None = None,
    compress: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """An .xlsx from sheet XML parts; a part of ``b"chart"`` becomes a chart sheet."""
    overrides = [
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    ]
    entries, rels, members = [], [], {}
    for index, (name, xml) in enumerate(sheets, start=1):
        if xml == b"chart":
            path = f"chartsheets/sheet{index}.xml"
            kind, ctype = "chartsheet", "chartsheet"
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?><chartsheet xmlns="{MAIN}" '
                f'xmlns:r="{REL}"><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
                "</chartsheet>"
            ).encode()
        else:
            path = f"worksheets/sheet{index}.xml"
            kind, ctype = "worksheet", "worksheet"
        members[f"xl/{path}"] = xml
        overrides.append(
            f'<Override PartName="/xl/{path}" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.{ctype}+xml"/>'
        )
        entries.append(f'<sheet name="{escape(name)}" sheetId="{index}" r:id="rId{index}"/>')
        rels.append(f'<Relationship Id="rId{index}" Type="{REL}/{kind}" Target="{path}"/>')
    if shared_strings is not None:
        members["xl/sharedStrings.xml"] = shared_strings
        rels.append(
            f'<Relationship Id="rId99" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        )
        overrides.append(
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/>' + "".join(overrides) + "</Types>"
        ).encode(),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            + "".join(entries)
            + "</sheets></workbook>"
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PKG}">'
            + "".join(rels)
            + "</Relationships>"
        ).encode(),
        **members,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# .xlsb: BIFF12 records (type and size as 7-bit varints) ----------------------------
def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _record(kind: int, body: bytes = b"") -> bytes:
    return _varint(kind) + _varint(len(body)) + body


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


XLSB_ERRORS = {"#DIV/0!": 0x07, "#N/A": 0x2A, "#REF!": 0x17, "#VALUE!": 0x0F}


def xlsb_bytes(
    rows: Sequence[Sequence[Any]], sheet: str = "Data", *, far_cell: tuple[int, int] | None = None
) -> bytes:
    """An .xlsb; ``far_cell`` (0-based row, column) adds one number far from the rest."""
    book = (
        _record(0x83)  # BrtBeginBook
        + _record(0x8F)  # BrtBeginBundleShs
        + _record(0x9C, struct.pack("<II", 0, 1) + _wide("rId1") + _wide(sheet))
        + _record(0x90)
        + _record(0x84)
    )
    width = max(map(len, rows))
    body = _record(0x81) + _record(0x94, struct.pack("<IIII", 0, len(rows) - 1, 0, width - 1))
    body += _record(0x91)  # BrtBeginSheetData
    for r, row in enumerate(rows):
        body += _record(0x00, struct.pack("<IIHBBI", r, 0, 300, 0, 0, 0))  # BrtRowHdr
        for c, value in enumerate(row):
            head = struct.pack("<II", c, 0)
            if isinstance(value, str):
                body += _record(0x06, head + _wide(value))  # BrtCellSt
            elif isinstance(value, int | float):
                body += _record(0x05, head + struct.pack("<d", float(value)))  # BrtCellReal
            elif isinstance(value, tuple):  # ("#DIV/0!",): BrtCellError with its code
                body += _record(0x03, head + bytes([XLSB_ERRORS[value[0]]]))
    if far_cell:
        body += _record(0x00, struct.pack("<IIHBBI", far_cell[0], 0, 300, 0, 0, 0))
        body += _record(0x05, struct.pack("<II", far_cell[1], 0) + struct.pack("<d", 1.0))
    body += _record(0x92) + _record(0x82)
    parts = {
        "[Content_Types].xml": (
            b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'content-types"><Default Extension="bin" ContentType="application/'
            b'vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.bin"/></Relationships>'
        ).encode(),
        "xl/workbook.bin": book,
        "xl/_rels/workbook.bin.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/worksheet" Target="worksheets/sheet1.bin"/></Relationships>'
        ).encode(),
        "xl/worksheets/sheet1.bin": body,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def encrypted_xls_bytes() -> bytes:
    """A BIFF8 workbook stream that opens with BOF then FILEPASS (RC4), as Excel saves it."""
    bof = struct.pack("<HH", 0x0809, 16) + struct.pack(
        "<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0206
    )
    filepass = struct.pack("<HH", 0x002F, 54) + struct.pack("<HHH", 1, 1, 1) + bytes(48)
    stream = bof + filepass + struct.pack("<HH", 0x000A, 0)  # EOF
    return cfb_bytes("Workbook") + stream + bytes(-len(stream) % 512)


def encrypted_ods_bytes() -> bytes:
    """What LibreOffice writes with "Save with password": the manifest names the cipher."""
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml" '
        'manifest:size="1234"><manifest:encryption-data manifest:checksum-type="SHA1/1K" '
        'manifest:checksum="AAAA"><manifest:algorithm manifest:algorithm-name="Blowfish CFB" '
        'manifest:initialisation-vector="AAAA"/><manifest:key-derivation '
        'manifest:key-derivation-name="PBKDF2" manifest:iteration-count="1024" '
        'manifest:salt="AAAA"/></manifest:encryption-data></manifest:file-entry>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("content.xml", bytes(range(256)) * 8, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def ods_raw(rows_xml: str) -> bytes:
    """An .ods whose one table holds ``rows_xml`` (``<table:table-row>`` elements)."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
        'office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Data">'
        + rows_xml
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# .xls: a BIFF8 workbook stream inside a compound file (CFB), as Excel 97-2003 writes it.
def _biff(kind: int, body: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _bof(kind: int) -> bytes:
    return _biff(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x0206))


def xls_bytes(sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> bytes:
    """Numbers, text (LABEL) and error cells ``("#DIV/0!",)`` on each named sheet."""
    codes = {"#NULL!": 0x00, "#DIV/0!": 0x07, "#VALUE!": 0x0F, "#REF!": 0x17, "#N/A": 0x2A}
    substreams = []
    for _, rows in sheets:
        body = _bof(0x0010)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                head = struct.pack("<HHH", r, c, 15)
                if isinstance(value, tuple):
                    body += _biff(0x0205, head + bytes([codes[value[0]], 1]))  # BOOLERR
                elif isinstance(value, int | float):
                    body += _biff(0x0203, head + struct.pack("<d", float(value)))  # NUMBER
                elif value is not None:
                    text = str(value).encode("utf-16-le")
                    body += _biff(0x0204, head + struct.pack("<HB", len(text) // 2, 1) + text)
        substreams.append(body + _biff(0x000A))
    globals_ = _bof(0x0005) + _biff(0x0042, struct.pack("<H", 1200))  # CODEPAGE: UTF-16
    sizes = [len(_biff(0x0085, bytes(6) + _wide8(name))) for name, _ in sheets]
    offset = len(globals_) + sum(sizes) + 4  # + EOF
    for (name, _), body in zip(sheets, substreams, strict=True):
        globals_ += _biff(0x0085, struct.pack("<IBB", offset, 0, 0) + _wide8(name))
        offset += len(body)
    stream = globals_ + _biff(0x000A) + b"".join(substreams)
    stream += bytes(max(0, 4096 - len(stream)))  # regular sectors, no mini stream
    return _cfb({"Workbook": stream})


def _wide8(text: str) -> bytes:
    return struct.pack("<BB", len(text), 1) + text.encode("utf-16-le")


def _cfb(streams: dict[str, bytes]) -> bytes:
    """A version 3 compound file: the FAT's sectors first (up to 109, the header's own
    list: streams up to about 7 MB), then the directory, then the streams."""
    sector = 512
    per = sector // 4
    count = sum(-(-len(data) // sector) for data in streams.values())
    fats = 1
    while fats * per < fats + 1 + count:
        fats += 1
    assert fats <= 109, "the header lists 109 FAT sectors at most"
    body, fat, starts = b"", [0xFFFFFFFD] * fats + [0xFFFFFFFE], []
    for data in streams.values():
        data += bytes(-len(data) % sector)
        first = fats + 1 + len(body) // sector
        count = len(data) // sector
        starts.append(first)
        fat += [first + i + 1 for i in range(count - 1)] + [0xFFFFFFFE]
        body += data
    fat += [0xFFFFFFFF] * (fats * per - len(fat))
    header = bytearray(sector)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 0x2C, fats, fats, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    header[0x4C:] = b"\xff" * (sector - 0x4C)
    for index in range(fats):  # DIFAT: where the FAT's sectors are
        struct.pack_into("<I", header, 0x4C + 4 * index, index)
    entries = bytearray()
    names = ["Root Entry", *streams]
    for index, name in enumerate(names):
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        entry[: len(encoded)] = encoded
        struct.pack_into("<HBB", entry, 64, len(encoded), 5 if index == 0 else 2, 1)
        right = index + 1 if 0 < index < len(names) - 1 else 0xFFFFFFFF
        child = 1 if index == 0 and len(names) > 1 else 0xFFFFFFFF
        struct.pack_into("<III", entry, 68, 0xFFFFFFFF, right, child)
        if index == 0:
            struct.pack_into("<II", entry, 116, 0xFFFFFFFE, 0)
        else:
            struct.pack_into(
                "<II", entry, 116, starts[index - 1], len(list(streams.values())[index - 1])
            )
        entries += entry
    entries += bytes(-len(entries) % sector)
    fat_sectors = struct.pack(f"<{len(fat)}I", *fat)
    return bytes(header) + fat_sectors + bytes(entries[:sector]) + body
