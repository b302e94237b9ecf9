"""CSV: encodings, delimiters, Excel's quirks, row numbering."""

from __future__ import annotations

import io
from typing import Any

import pytest

from bulkops.tabular import open_table

from .files import csv_bytes

TEXT = "Name;City;Amount\nJosé;Málaga;1.234,50\nZoë;Köln;£ 12\n"


def read(data: bytes, filename: str = "data.csv") -> tuple[Any, list[tuple[int, list[Any]]]]:
    table = open_table(io.BytesIO(data), filename=filename)
    return table, list(table.rows())


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1252", "cp1252"),
        ("latin-1", "cp1252"),  # identical bytes for these letters
        ("utf-16", "utf-16"),
    ],
)
def test_encodings(encoding: str, expected: str) -> None:
    table, rows = read(csv_bytes(TEXT, encoding))
    assert table.encoding == expected  # type: ignore[attr-defined]
    assert table.headers == ["Name", "City", "Amount"]  # type: ignore[attr-defined]
    assert rows == [(2, ["José", "Málaga", "1.234,50"]), (3, ["Zoë", "Köln", "£ 12"])]


def test_cp1252_specific_characters() -> None:
    table, rows = read(csv_bytes("name,quote\nA,“smart” – dash €\n", "cp1252"))
    assert table.encoding == "cp1252"  # type: ignore[attr-defined]
    assert rows == [(2, ["A", "“smart” – dash €"])]


def test_late_non_utf8_byte_detected() -> None:
    body = "".join(f"row{i},ok\n" for i in range(20_000)).encode() + "last,Ñ\n".encode("cp1252")
    table, rows = read(b"a,b\n" + body)
    assert table.encoding == "cp1252"  # type: ignore[attr-defined]
    assert rows[-1][1] == ["last", "Ñ"]


def test_bom_not_in_first_header() -> None:
    table, _ = read(csv_bytes("Email,Name\nx,y\n", "utf-8-sig"))
    assert table.headers == ["Email", "Name"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(delimiter: str) -> None:
    text = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "2,5", "x"]) + "\n"
    if delimiter == ",":
        text = 'a,b,c\n1,"2,5",x\n'
    table, rows = read(csv_bytes(text))
    assert table.delimiter == delimiter  # type: ignore[attr-defined]
    assert rows == [(2, ["1", "2,5", "x"])]


def test_semicolon_with_decimal_commas_not_mistaken_for_comma() -> None:
    text = "name;price;qty\n" + "".join(f"item{i};{i},50;{i}\n" for i in range(20))
    table, rows = read(csv_bytes(text))
    assert table.delimiter == ";"  # type: ignore[attr-defined]
    assert rows[0] == (2, ["item0", "0,50", "0"])


def test_excel_sep_hint_line() -> None:
    table, rows = read(csv_bytes("sep=;\na;b\n1;2\n"))
    assert table.delimiter == ";"  # type: ignore[attr-defined]
    assert table.headers == ["a", "b"]  # type: ignore[attr-defined]
    assert rows == [(2, ["1", "2"])]


def test_single_column() -> None:
    _, rows = read(csv_bytes("email\na@x.io\nb@x.io\n"))
    assert rows == [(2, ["a@x.io"]), (3, ["b@x.io"])]


def test_quoted_multiline_cell_keeps_excel_row_numbers() -> None:
    _, rows = read(csv_bytes('a,b\n1,"two\nlines"\n2,x\n'))
    assert rows == [(2, ["1", "two\nlines"]), (3, ["2", "x"])]


def test_crlf_and_no_trailing_newline() -> None:
    _, rows = read(b"a,b\r\n1,2\r\n3,4")
    assert rows == [(2, ["1", "2"]), (3, ["3", "4"])]


def test_blank_lines_skipped_but_counted() -> None:
    _, rows = read(b"a,b\n\n1,2\n,\n3,4\n")
    assert rows == [(3, ["1", "2"]), (5, ["3", "4"])]


def test_leading_zeros_and_spaces_kept_as_text() -> None:
    _, rows = read(b"code,name\n00123, Ann \n")
    assert rows == [(2, ["00123", " Ann "])]


def test_row_count_estimate() -> None:
    table, _ = read(b"a\n" + b"x\n" * 50)
    assert table.row_count == 50  # type: ignore[attr-defined]


def test_tsv_and_txt_extensions() -> None:
    table, rows = read(b"a\tb\n1\t2\n", "export.tsv")
    assert rows == [(2, ["1", "2"])]
    table, rows = read("a\tb\n1\t2\n".encode("utf-16"), "unicode.txt")
    assert rows == [(2, ["1", "2"])]


def test_caller_file_not_closed() -> None:
    handle = io.BytesIO(b"a\n1\n")
    table = open_table(handle, filename="x.csv")
    list(table.rows())
    table.close()
    assert not handle.closed
