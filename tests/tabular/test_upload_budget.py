"""Hostile uploads, built here: each is refused or read right in bounded time and memory.

Each file goes through the upload's one parse (open_table + the stored rows) in a child
process, which reports its peak memory over its own baseline: the Rust reader's
allocations count too. The budget is the issue's: under 10 s and 300 MB per file, and
three concurrent previews of the worst accepted file under the same in total.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from bulkops.tabular.xlsscan import count_shared_strings

from .workbooks import (
    REL,
    _biff,
    _bof,
    _cfb,
    _record,
    _wide8,
    ods_raw,
    raw_xlsx,
    sheet_xml,
    xls_bytes,
    xlsb_bytes,
)

# The heaviest files (several seconds each to build and refuse) run once, in the
# PostgreSQL run of scripts/test: none of them touches the database, and the SQLite and
# compatibility runs leave out "slow".
SLOW = pytest.mark.slow

# CPU seconds of the child (every thread's), not wall time: what the file costs the site,
# the same on a quiet machine and on one shared with other test runs.
SECONDS = 10
EXTRA_MB = 300
ROOT = Path(__file__).resolve().parents[2]
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


def run_child(path: Path, filename: str, mode: str = "stage", *extra: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.tabular.budget_child", str(path), filename, mode, *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    # A reader that aborts the process (calamine on a huge used area) fails here.
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["cpu_seconds"] < SECONDS, result
    assert result["extra_mb"] < EXTRA_MB, result
    return result


def rows_xml(count: int, columns: int = 5, start: int = 2) -> bytes:
    """``count`` numeric rows of ``columns`` cells, generated at C speed."""
    letters = [chr(65 + i) for i in range(columns)]
    template = '<row r="%d">' + "".join(f'<c r="{c}%d"><v>%d</v></c>' for c in letters) + "</row>"
    pattern = template.encode()
    return b"".join(
        pattern % (r, *[v for _ in letters for v in (r, r)]) for r in range(start, start + count)
    )


def header(columns: int = 5) -> bytes:
    return (
        b'<row r="1">'
        + b"".join(
            f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>col{i}</t></is></c>'.encode()
            for i in range(columns)
        )
        + b"</row>"
    )


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def sheet(body: bytes, dimension: str = "A1", prolog: str = "") -> bytes:
    return sheet_xml("", dimension, prolog).replace(b"<sheetData>", b"<sheetData>" + body)


def lying_zip(tmp_path: Path) -> Path:
    """A member whose directory declares 1 KB but that inflates to 64 MB."""
    data = raw_xlsx([("S", sheet(header() + rows_xml(10)))])
    real = sheet(header() + rows_xml(10)) + b" " * (64 * 1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(real) + compressor.flush()
    path = tmp_path / "lying.xlsx"
    with zipfile.ZipFile(path, "w") as out, zipfile.ZipFile(io.BytesIO(data)) as src:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info, src.read(info.filename))
    # Append the hostile member by hand, declaring a small size in both headers.
    blob = bytearray(path.read_bytes())
    end = blob.rfind(b"PK\x05\x06")
    entries, directory_size, directory_offset = struct.unpack("<HII", blob[end + 10 : end + 20])
    directory = bytes(blob[directory_offset : directory_offset + directory_size])
    name = b"xl/worksheets/sheet1.xml"
    crc = zlib.crc32(real[:1024])
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(deflated), 1024, len(name), 0
    )
    offset = directory_offset
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        8,
        0,
        0,
        crc,
        len(deflated),
        1024,
        len(name),
        0,
        0,
        0,
        0,
        0,
        offset,
    )
    body = bytes(blob[:directory_offset]) + local + name + deflated
    new_offset = len(body)
    new_directory = directory + central + name
    tail = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, entries + 1, entries + 1, len(new_directory), new_offset, 0
    )
    path.write_bytes(body + new_directory + tail)
    return path


@pytest.fixture
def shared_strings_flood(tmp_path: Path) -> Path:
    # 2,000,000 distinct-looking tiny texts, stored uncompressed so no ratio check fires:
    # the per-item cost is what blew memory up, not the bytes.
    items = b"<si><t>x</t></si>" * 2_000_000
    strings = b'<?xml version="1.0"?><sst xmlns="' + b'x">' + items + b"</sst>"
    data = raw_xlsx([("S", sheet(header(1)))], shared_strings=strings, compress=zipfile.ZIP_STORED)
    return write(tmp_path, "strings.xlsx", data)


def test_declared_huge_shared_strings_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.xlsx"
    data = raw_xlsx([("S", sheet(header(1)))])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        with zipfile.ZipFile(io.BytesIO(data)) as src:
            for info in src.infolist():
                out.writestr(info.filename, src.read(info.filename))
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            block = b"<si><t>abcdefghijklmnopqrstuvwxyz</t></si>" * 30_000
            for _ in range(400 * 1024 * 1024 // len(block)):
                member.write(block)
    result = run_child(path, "huge.xlsx")
    assert result["outcome"] == "refused"
    assert result["code"] in ("zip_bomb", "part_too_large")


def test_many_shared_strings_are_refused_with_the_limit(shared_strings_flood: Path) -> None:
    result = run_child(shared_strings_flood, "strings.xlsx")
    assert (result["outcome"], result["code"]) == ("refused", "too_many_strings")
    assert "more than 1,500,000 distinct texts" in result["message"]


@SLOW
def test_empty_shared_strings_count_as_strings(tmp_path: Path) -> None:
    # 24,000,000 <si/> (a comment of random letters every 200 keeps the zip under the
    # compression-ratio limit): counted by their closing tags, none was seen, and
    # calamine spent 556 MB on them.
    noise = random.Random(2)
    letters = [bytes(noise.choices(b"abcdefghijklmnopqrstuvwxyz", k=12)) for _ in range(120_000)]
    items = b"".join(b"<si/>" * 200 + b"<!--" + word + b"-->" for word in letters)
    strings = b'<?xml version="1.0"?><sst xmlns="x">' + items + b"</sst>"
    body = header(1) + b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    data = raw_xlsx([("S", sheet(body))], shared_strings=strings)
    result = run_child(write(tmp_path, "empty-strings.xlsx", data), "empty-strings.xlsx")
    assert (result["outcome"], result["code"]) == ("refused", "too_many_strings")


@pytest.mark.parametrize("where", ["sheet", "strings", "workbook", "utf16"])
def test_entity_amplification_is_refused_as_unsafe(tmp_path: Path, where: str) -> None:
    body = header(1) + b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    if where == "sheet":
        data = raw_xlsx([("S", sheet(body, prolog=LAUGHS))])
    elif where == "strings":
        strings = f'<?xml version="1.0"?>{LAUGHS}<sst xmlns="x"><si><t>&lol9;</t></si></sst>'
        data = raw_xlsx([("S", sheet(header(1)))], shared_strings=strings.encode())
    elif where == "utf16":
        xml = sheet(body, prolog=LAUGHS).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
        data = raw_xlsx([("S", xml.encode("utf-16"))])
    else:
        data = raw_xlsx([("S", sheet(header(1)))])
        patched = io.BytesIO()
        with (
            zipfile.ZipFile(io.BytesIO(data)) as src,
            zipfile.ZipFile(patched, "w") as out,
        ):
            for info in src.infolist():
                content = src.read(info.filename)
                if info.filename == "xl/workbook.xml":
                    content = content.replace(b"?>", b"?>" + LAUGHS.encode(), 1)
                out.writestr(info, content)
        data = patched.getvalue()
    result = run_child(write(tmp_path, "laughs.xlsx", data), "laughs.xlsx")
    assert (result["outcome"], result["code"]) == ("refused", "xml_entities")
    assert "declares XML entities" in result["message"]


@pytest.mark.parametrize(
    ("far_cell", "code"),
    [
        ("XFD1048576", "too_many_columns"),
        ("A1048576", "too_many_rows"),
        ("AL500000", "too_many_cells"),
    ],
)
def test_two_cells_far_apart_are_refused_instead_of_allocating_the_area(
    tmp_path: Path, far_cell: str, code: str
) -> None:
    row = far_cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    far = f'<row r="{row}"><c r="{far_cell}"><v>1</v></c></row>'.encode()
    data = raw_xlsx([("S", sheet(header(1) + far))])
    result = run_child(write(tmp_path, "far.xlsx", data), "far.xlsx")
    assert (result["outcome"], result["code"]) == ("refused", code)


@pytest.mark.parametrize(
    ("far", "code"),
    [
        # The row tag lies: calamine places a cell by its own reference. Read by the row
        # tags, the first file looked like two rows and cost 581 MB to load.
        ('<row r="2"><c r="AL500000"><v>1</v></c></row>', "too_many_cells"),
        ('<row r="2"><c r="A1048576"><v>1</v></c></row>', "too_many_rows"),
        # References written in ways the fast path does not read: calamine aborted the
        # process on the first, and spent 6 GB on the eight-digit row.
        ("<row r='2'><c r='XFD900000'><v>1</v></c></row>", "too_many_columns"),
        ('<row r="2"><c s="0" r="AL500000"><v>1</v></c></row>', "too_many_cells"),
        ('<row r="2"><c r="B99999999"><v>1</v></c></row>', "too_many_rows"),
        ('<row r="2"><y:c xmlns:y="urn:y" r="AL500000"><y:v>1</y:v></y:c></row>', "too_many_cells"),
        # No reference at all: the cells follow their row tag (1.2 GB before).
        ('<row r="999999">' + "<c><v>1</v></c>" * 40 + "</row>", "too_many_cells"),
    ],
)
def test_a_far_cell_written_any_way_the_reader_accepts_is_refused_before_loading(
    tmp_path: Path, far: str, code: str
) -> None:
    data = raw_xlsx([("S", sheet(header(1) + far.encode()))])
    result = run_child(write(tmp_path, "far.xlsx", data), "far.xlsx")
    assert (result["outcome"], result["code"]) == ("refused", code)


@SLOW
def test_a_flood_of_cells_the_fast_path_cannot_read_stops_at_the_cell_limit(
    tmp_path: Path,
) -> None:
    # 8,000,000 empty cells without references (about 120 MB of XML, each tag different
    # so the zip stays under the compression-ratio limit): read tag by tag, the pass
    # stops once the tags outnumber what the limits could ever accept.
    noise = random.Random(1)
    rows = [  # each about 15 KB: deflate's 32 KB window never holds two of them
        b"<row>"
        + b"".join(b'<c s="%d"/>' % noise.randrange(10**6) for _ in range(1000))
        + b"</row>"
        for _ in range(64)
    ]
    body = b"".join(rows[i % 64] for i in range(8000))
    data = raw_xlsx([("S", sheet(header(1) + body))])
    result = run_child(write(tmp_path, "flood.xlsx", data), "flood.xlsx")
    assert (result["outcome"], result["code"]) == ("refused", "too_many_cells")


def test_a_sheet_written_without_cell_references_is_measured_and_read(tmp_path: Path) -> None:
    # Some writers leave r out: each cell follows the one before it, each row its tag.
    rows = b"".join(
        b'<row r="%d"><c t="inlineStr"><is><t>n%d</t></is></c><c><v>%d</v></c></row>' % (r, r, r)
        for r in range(2, 5002)
    )
    data = raw_xlsx([("S", sheet(header(2) + rows))])
    result = run_child(write(tmp_path, "plain.xlsx", data), "plain.xlsx")
    assert (result["outcome"], result["rows"]) == ("read", 5000)


def test_zip_directory_that_lies_about_a_size_is_refused(tmp_path: Path) -> None:
    result = run_child(lying_zip(tmp_path), "lying.xlsx")
    assert result["outcome"] == "refused"
    assert result["code"] == "corrupt"


@SLOW
def test_worst_accepted_file_and_three_concurrent_previews(tmp_path: Path) -> None:
    # 200,000 rows behind a <dimension> that claims one: read right, then previewed
    # three times at once from the stored rows without parsing the workbook again: each
    # preview shows its first rows and its check (the dry run) cleans every row.
    data = raw_xlsx([("S", sheet(header() + rows_xml(200_000), dimension="A1:B2"))])
    path = write(tmp_path, "worst.xlsx", data)
    stored = tmp_path / "worst.rows"
    result = run_child(path, "worst.xlsx", "stage", str(stored))
    assert (result["outcome"], result["rows"]) == ("read", 200_000)
    # The measurement sees the reader's native memory (1,000,000 cells in calamine).
    assert result["extra_mb"] > 20, result
    previews = run_child(stored, "worst.xlsx", "preview")
    assert not previews["errors"], previews["errors"]
    assert previews["rows"] == [[20, 200_000]] * 3


ODS_HEADER = (
    '<table:table-row><table:table-cell office:value-type="string"><text:p>Name</text:p>'
    "</table:table-cell></table:table-row>"
)


@pytest.mark.parametrize(
    ("rows", "code"),
    [
        # 1 KB that calamine would turn into 100,000,000 cells (6 GB, 20 s).
        (
            '<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
            'office:value-type="float" office:value="1" table:number-columns-repeated="100"/>'
            "</table:table-row>",
            "too_many_cells",
        ),
        (
            '<table:table-row><table:table-cell office:value-type="float" office:value="1" '
            'table:number-columns-repeated="16384"/></table:table-row>',
            "too_many_columns",
        ),
    ],
)
def test_ods_repeats_are_counted_before_loading(tmp_path: Path, rows: str, code: str) -> None:
    path = write(tmp_path, "repeat.ods", ods_raw(ODS_HEADER + rows))
    result = run_child(path, "repeat.ods")
    assert (result["outcome"], result["code"]) == ("refused", code)


def test_ods_filler_rows_libreoffice_writes_are_read_right(tmp_path: Path) -> None:
    rows = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Ann</text:p>'
        '</table:table-cell><table:table-cell table:number-columns-repeated="1023"/>'
        '</table:table-row><table:table-row table:number-rows-repeated="1048574">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    path = write(tmp_path, "filler.ods", ods_raw(ODS_HEADER + rows))
    result = run_child(path, "filler.ods")
    assert (result["outcome"], result["rows"]) == ("read", 1)


def test_xlsb_cells_far_apart_are_refused_before_loading(tmp_path: Path) -> None:
    data = xlsb_bytes([["Name"], ["Ann"]], far_cell=(900_000, 16383))
    result = run_child(write(tmp_path, "far.xlsb", data), "far.xlsb")
    assert (result["outcome"], result["code"]) == ("refused", "too_many_columns")


@SLOW
def test_xlsb_shared_strings_are_counted_before_loading(tmp_path: Path) -> None:
    # 2,000,000 one-letter strings, 9 bytes each in sharedStrings.bin: calamine gives each
    # its own allocation (10,000,000 of them cost 560 MB when the part was not counted).
    noise = random.Random(4)
    letters = [
        _record(0x13, b"\x00" + struct.pack("<I", 1) + chr(65 + i).encode("utf-16-le"))
        for i in range(26)
    ]
    count = 2_000_000
    strings = (
        _record(0x9F, struct.pack("<II", count, count))
        + b"".join(noise.choices(letters, k=count))
        + _record(0xA0)
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsb_bytes([["Name"], ["Ann"]]))) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "xl/_rels/workbook.bin.rels":
                content = content.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rId9" Type="{REL}/sharedStrings" '
                    'Target="sharedStrings.bin"/></Relationships>'.encode(),
                )
            dst.writestr(info.filename, content)
        dst.writestr("xl/sharedStrings.bin", strings)
    result = run_child(write(tmp_path, "strings.xlsb", out.getvalue()), "strings.xlsb")
    assert (result["outcome"], result["code"]) == ("refused", "too_many_strings")


def xls_with_strings(strings: list[bytes]) -> bytes:
    """An .xls whose shared string table holds ``strings`` (each a whole string record
    part), split over CONTINUE records as Excel splits it, one cell using the first."""
    records, current = [], struct.pack("<II", len(strings), len(strings))
    for item in strings:
        if len(current) + len(item) > 8224:
            records.append(current)
            current = b""
        current += item
    records.append(current)
    table = _biff(0x00FC, records[0]) + b"".join(_biff(0x003C, body) for body in records[1:])
    sheet = _bof(0x0010) + _biff(0x00FD, struct.pack("<HHHI", 0, 0, 15, 0)) + _biff(0x000A)
    globals_ = _bof(0x0005) + _biff(0x0042, struct.pack("<H", 1200))
    entry = len(_biff(0x0085, bytes(6) + _wide8("S")))
    offset = len(globals_) + entry + len(table) + 4
    globals_ += _biff(0x0085, struct.pack("<IBB", offset, 0, 0) + _wide8("S")) + table
    stream = globals_ + _biff(0x000A) + sheet
    return _cfb({"Workbook": stream + bytes(max(0, 4096 - len(stream)))})


@SLOW
def test_xls_shared_strings_are_counted_before_loading(tmp_path: Path) -> None:
    # 2,200,000 empty strings (3 bytes each, 6.6 MB): calamine gave each an allocation
    # when it opened the file (90 MB here; a 50 MB .xls could hold 16 million).
    data = xls_with_strings([b"\x00\x00\x00"] * 2_200_000)
    result = run_child(write(tmp_path, "strings.xls", data), "strings.xls")
    assert (result["outcome"], result["code"]) == ("refused", "too_many_strings")


def test_xls_strings_cut_across_records_are_counted_one_each() -> None:
    # A wide string whose characters continue in the next record (which then opens with
    # a flags byte of its own), a rich string with its runs, one with extended data.
    cut = struct.pack("<HB", 10, 1) + "abc".encode("utf-16-le")
    rest = b"\x01" + "defghij".encode("utf-16-le") + struct.pack("<HB", 2, 0) + b"xy"
    rich = struct.pack("<HBH", 1, 8, 2) + b"z" + bytes(8)
    extended = struct.pack("<HBI", 1, 4, 5) + b"w" + bytes(5)
    pairs = [(cut, rest + rich + extended)] * 100
    table = _biff(0x00FC, struct.pack("<II", 400, 400) + pairs[0][0]) + _biff(0x003C, pairs[0][1])
    for first, second in pairs[1:]:
        table += _biff(0x003C, first) + _biff(0x003C, second)
    stream = table + _biff(0x000A)
    assert count_shared_strings(stream, 1000) == 400
    assert count_shared_strings(stream, 10) == 11, "stops one past the limit"


def test_xls_cells_far_apart_are_refused_before_loading(tmp_path: Path) -> None:
    # 4 KB that calamine turns into 256 x 65,536 cells: over 1 GB.
    data = xls_bytes([("Far", [["Name", 1]])])
    number = data.find(struct.pack("<HH", 0x0203, 14))
    data = data[: number + 4] + struct.pack("<HH", 65535, 255) + data[number + 8 :]
    result = run_child(write(tmp_path, "far.xls", data), "far.xls")
    assert (result["outcome"], result["code"]) == ("refused", "too_many_cells")
    assert "uses 16,777,216 cells" in result["message"]
