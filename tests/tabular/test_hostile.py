"""Files that must be refused before any row is read, each with its exact message."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from bulkops.tabular import Limits, TableError, open_table

from .files import cfb_bytes, csv_bytes, ods_bytes, xlsx_bytes, zip_bytes


def refuse(data: bytes, filename: str, limits: Limits | None = None) -> TableError:
    with pytest.raises(TableError) as info:
        open_table(io.BytesIO(data), filename=filename, limits=limits)
    return info.value


def test_unsupported_extension() -> None:
    error = refuse(b"%PDF-1.7", "invoice.pdf")
    assert error.code == "unsupported_type"
    assert str(error) == (
        '"invoice.pdf" has the file type .pdf, which cannot be imported. '
        "Upload an .xlsx, .xlsb, .ods, .xls or .csv file."
    )


def test_no_extension() -> None:
    error = refuse(b"a,b\n1,2\n", "data")
    assert error.code == "unsupported_type"
    assert "(no extension)" in error.message


def test_empty_file() -> None:
    error = refuse(b"", "customers.xlsx")
    assert (error.code, error.message) == ("empty", '"customers.xlsx" is empty.')


def test_too_large() -> None:
    error = refuse(b"a,b\n" + b"1,2\n" * 300_000, "big.csv", Limits(max_file_size=1024 * 1024))
    assert error.code == "too_large"
    assert error.message == '"big.csv" is 1.1 MB; the largest file accepted is 1 MB.'


def test_size_read_from_upload_object_before_reading() -> None:
    class Upload(io.BytesIO):
        size = 10 * 1024 * 1024

    with pytest.raises(TableError) as info:
        open_table(Upload(b"a,b\n"), filename="x.csv", limits=Limits(max_file_size=1024))
    assert info.value.code == "too_large"


def test_csv_content_in_xlsx_name() -> None:
    error = refuse(b"name,email\nAnn,ann@example.com\n", "customers.xlsx")
    assert error.code == "content_mismatch"
    assert error.message == (
        '"customers.xlsx" is named like an Excel workbook (.xlsx) but its content is not a '
        "spreadsheet. Save it in the right format and upload it again."
    )


def test_pdf_renamed_to_xlsx() -> None:
    error = refuse(b"%PDF-1.4\n...", "report.xlsx")
    assert error.code == "content_mismatch"
    assert "its content is a PDF document" in error.message


def test_xlsx_renamed_to_csv() -> None:
    error = refuse(xlsx_bytes([["a"]]), "customers.csv")
    assert error.code == "content_mismatch"
    assert error.message == (
        '"customers.csv" is named like a CSV text file but its content is a zip archive '
        "(perhaps an .xlsx workbook). Save it in the right format and upload it again."
    )


def test_binary_renamed_to_csv() -> None:
    error = refuse(b"\x00\x01\x02binary\x00" * 50, "data.csv")
    assert error.code == "content_mismatch"
    assert "its content is binary data, not text" in error.message


def test_png_renamed_to_csv() -> None:
    error = refuse(b"\x89PNG\r\n\x1a\n" + bytes(100), "data.csv")
    assert "its content is a PNG image" in error.message


def test_ods_renamed_to_xlsx() -> None:
    error = refuse(ods_bytes([["a"]]), "sheet.xlsx")
    assert error.code == "content_mismatch"
    assert "its content is an OpenDocument spreadsheet (.ods)" in error.message


def test_xlsx_renamed_to_ods() -> None:
    error = refuse(xlsx_bytes([["a"]]), "sheet.ods")
    assert error.code == "content_mismatch"
    assert "its content is an Excel workbook (.xlsx)" in error.message


def test_word_document_renamed_to_xlsx() -> None:
    data = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    error = refuse(data, "letter.xlsx")
    assert error.code == "content_mismatch"
    assert "its content is a Word document" in error.message


def test_plain_zip_renamed_to_xlsx() -> None:
    error = refuse(zip_bytes({"photo.jpg": b"\xff\xd8\xff" + bytes(10)}), "photos.xlsx")
    assert error.code == "content_mismatch"
    assert "its content is a zip archive, not a spreadsheet" in error.message


def test_encrypted_workbook() -> None:
    error = refuse(cfb_bytes("EncryptionInfo", "EncryptedPackage"), "payroll.xlsx")
    assert error.code == "encrypted"
    assert error.message == (
        '"payroll.xlsx" is protected with a password. Remove the password '
        "(in Excel: File > Info > Protect Workbook) and upload it again."
    )


def test_xls_renamed_to_xlsx() -> None:
    error = refuse(cfb_bytes("Workbook"), "old.xlsx")
    assert error.code == "content_mismatch"
    assert "its content is an Excel 97-2003 workbook (.xls)" in error.message


def test_zip_with_encrypted_member() -> None:
    data = bytearray(xlsx_bytes([["a"]]))
    # Set the "encrypted" flag bit on every local and central directory entry.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            flags = struct.unpack_from("<H", data, start + offset)[0]
            struct.pack_into("<H", data, start + offset, flags | 1)
            start += 4
    error = refuse(bytes(data), "locked.xlsx")
    assert error.code == "encrypted"


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_xlsx(cut: float) -> None:
    data = xlsx_bytes([["name", "email"], *[[f"n{i}", f"e{i}@x.io"] for i in range(200)]])
    error = refuse(data[: int(len(data) * cut)], "cut.xlsx")
    assert error.code == "corrupt"
    assert error.message.startswith('"cut.xlsx" is damaged')


def test_garbage_inside_valid_zip() -> None:
    data = zip_bytes(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<<<not xml",
            "xl/worksheets/sheet1.xml": b"\x00\x01garbage",
        }
    )
    error = refuse(data, "broken.xlsx")
    assert error.code == "corrupt"
    assert error.message == (
        '"broken.xlsx" is damaged or not a valid spreadsheet and cannot be read.'
    )


def _bomb_xlsx(size: int) -> bytes:
    base = xlsx_bytes([["a"], [1]])
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            payload = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                payload = payload.replace(b"</sheetData>", b"</sheetData>" + b" " * size)
            target.writestr(info.filename, payload)
    return buffer.getvalue()


def test_zip_bomb_by_ratio() -> None:
    data = _bomb_xlsx(40 * 1024 * 1024)
    assert len(data) < 200_000
    error = refuse(data, "bomb.xlsx")
    assert error.code == "zip_bomb"
    assert error.message == (
        '"bomb.xlsx" would expand to far more data than a spreadsheet of its size holds '
        "and was refused as unsafe."
    )


def test_zip_bomb_by_declared_total_size() -> None:
    error = refuse(_bomb_xlsx(3 * 1024 * 1024), "big.xlsx", Limits(max_uncompressed_size=2**20))
    assert error.code == "zip_bomb"


def test_zip_bomb_by_forged_directory_size() -> None:
    data = bytearray(xlsx_bytes([["a"], [1]]))
    start = data.find(b"PK\x01\x02")
    while start != -1:
        struct.pack_into("<I", data, start + 24, 0xFFFF_FFF0)  # uncompressed size
        start = data.find(b"PK\x01\x02", start + 4)
    error = refuse(bytes(data), "forged.xlsx")
    assert error.code == "zip_bomb"


def test_too_many_members() -> None:
    members = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}
    members.update({f"xl/media/{i}.bin": b"x" for i in range(50)})
    error = refuse(zip_bytes(members), "many.xlsx", Limits(max_zip_members=20))
    assert error.code == "zip_bomb"


def test_16384_columns_refused_from_dimension() -> None:
    data = xlsx_bytes([["name"] + [None] * 16382 + ["last"]])
    error = refuse(data, "wide.xlsx")
    assert error.code == "too_many_columns"
    assert error.message == (
        '"wide.xlsx" has values in 16,384 columns (A to XFD); the most accepted is 500. '
        "Delete the unused columns and upload it again."
    )


def test_wide_sheet_without_dimension_refused() -> None:
    # openpyxl's write-only mode writes no <dimension>; the loaded width decides.
    data = xlsx_bytes([["name"] + [None] * 16382 + ["last"]], write_only=True)
    error = refuse(data, "wide.xlsx")
    assert error.code == "too_many_columns"


def test_wide_sheet_openpyxl_engine() -> None:
    data = xlsx_bytes([["name"] + [None] * 700 + ["last"]], write_only=True)
    with pytest.raises(TableError) as info:
        table = open_table(io.BytesIO(data), filename="wide.xlsx", engine="openpyxl")
        list(table.rows())
    assert info.value.code == "too_many_columns"


def test_too_many_columns_csv() -> None:
    header = ",".join(f"c{i}" for i in range(600))
    error = refuse(csv_bytes(header + "\n"), "wide.csv")
    assert error.code == "too_many_columns"
    assert error.message.startswith('"wide.csv" has 600 columns;')


def test_too_many_rows_xlsx() -> None:
    data = xlsx_bytes([["n"], *[[i] for i in range(30)]])
    error = refuse(data, "rows.xlsx", Limits(max_rows=20))
    assert error.code == "too_many_rows"
    assert error.message == (
        '"rows.xlsx" has more than 20 rows, the most one import accepts. '
        "Split it into smaller files."
    )


def test_too_many_rows_xlsx_without_dimension() -> None:
    data = xlsx_bytes([["n"], *[[i] for i in range(30)]], write_only=True)
    assert refuse(data, "rows.xlsx", Limits(max_rows=20)).code == "too_many_rows"


def test_too_many_rows_csv() -> None:
    data = csv_bytes("n\n" + "".join(f"{i}\n" for i in range(30)))
    assert refuse(data, "rows.csv", Limits(max_rows=20)).code == "too_many_rows"


def test_rows_limit_counts_records_not_lines() -> None:
    # 10 records whose quoted cells span 3 lines each: 31 lines, 10 data rows.
    body = "".join(f'{i},"line one\nline two\nline three"\n' for i in range(10))
    table = open_table(
        io.BytesIO(csv_bytes("n,note\n" + body)), filename="notes.csv", limits=Limits(max_rows=10)
    )
    assert len(list(table.rows())) == 10


def test_exactly_max_rows_is_accepted() -> None:
    data = xlsx_bytes([["n"], *[[i] for i in range(20)]])
    table = open_table(io.BytesIO(data), filename="rows.xlsx", limits=Limits(max_rows=20))
    assert len(list(table.rows())) == 20


def test_empty_sheet() -> None:
    error = refuse(xlsx_bytes([]), "blank.xlsx")
    assert error.code == "no_header"
    assert error.message == '"blank.xlsx" has no header row: the sheet is empty.'


def test_whitespace_only_csv() -> None:
    assert refuse(b"\n\n  \n", "blank.csv").code == "no_header"


def test_cell_too_long_csv() -> None:
    data = csv_bytes("a\n" + "x" * 40_000 + "\n")
    with pytest.raises(TableError) as info:
        list(open_table(io.BytesIO(data), filename="long.csv").rows())
    assert info.value.code == "cell_too_long"
    assert info.value.message == (
        '"long.csv" row 2 holds a cell of 40,000 characters; the most a cell may hold is 32,767.'
    )


def test_unknown_sheet_name() -> None:
    data = xlsx_bytes([["a"]], title="Customers")
    with pytest.raises(TableError) as info:
        open_table(io.BytesIO(data), filename="c.xlsx", sheet="Orders")
    assert info.value.code == "no_sheet"
    assert info.value.message == "\"c.xlsx\" has no sheet 'Orders'; its sheets are 'Customers'."


def test_missing_path() -> None:
    with pytest.raises(TableError) as info:
        open_table("/nonexistent/dir/file.csv")
    assert info.value.code == "unreadable"
