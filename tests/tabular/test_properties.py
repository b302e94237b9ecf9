"""Property-based tests: hostile bytes only ever raise TableError; converters round-trip."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bulkops.tabular import (
    ConvertOptions,
    Limits,
    TableError,
    datetime_to_excel_serial,
    excel_serial_to_datetime,
    open_table,
    to_bool,
    to_date,
    to_decimal,
    to_int,
    to_text,
    write_csv,
)
from bulkops.tabular.columns import _PLAIN_EMAIL

from .files import xlsx_bytes

SMALL = Limits(max_file_size=1024 * 1024, max_rows=1000, max_columns=50)
VALID_XLSX = xlsx_bytes([["name", "n"], *[[f"r{i}", i] for i in range(20)]])
EXTENSIONS = ["x.xlsx", "x.xlsm", "x.ods", "x.xls", "x.csv", "x.tsv"]


def read_everything(data: bytes, filename: str) -> None:
    try:
        with open_table(io.BytesIO(data), filename=filename, limits=SMALL) as table:
            for _ in table.rows():
                pass
    except TableError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.sampled_from(EXTENSIONS))
def test_random_bytes_only_raise_table_error(data: bytes, filename: str) -> None:
    read_everything(data, filename)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf", b"\xff\xfe"]
    ),
    st.binary(max_size=2048),
    st.sampled_from(EXTENSIONS),
)
def test_random_bytes_behind_real_magic(magic: bytes, tail: bytes, filename: str) -> None:
    read_everything(magic + tail, filename)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_workbook_only_raises_table_error(data: st.DataObject) -> None:
    blob = bytearray(VALID_XLSX)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(blob) // 2, len(blob)))
    read_everything(bytes(blob[:cut]), "mutated.xlsx")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_random_text_csv_only_raises_table_error(text: str, encoding: str) -> None:
    read_everything(text.encode(encoding, "surrogatepass"), "t.csv")


cell_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=20
).filter(lambda s: s.strip() != "")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(cell_text, min_size=3, max_size=3), min_size=1, max_size=20),
    st.sampled_from([",", ";", "\t"]),
)
def test_csv_write_read_round_trip(rows: list[list[str]], delimiter: str) -> None:
    buffer = io.BytesIO()
    write_csv(buffer, ["a", "b", "c"], rows, delimiter=delimiter)
    buffer.seek(0)
    with open_table(buffer, filename="r.csv") as table:
        assert table.headers == ["a", "b", "c"]
        got = [values for _, values in table.rows()]
    from bulkops.tabular import neutralize
    from bulkops.tabular.writers import neutralize_csv

    # The CSV rule also guards pieces after any list separator (see test_csv_export_locales).
    assert got == [[neutralize_csv(neutralize(v)) for v in row] for row in rows]


decimals = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False
)


def formatted(number: Decimal, decimal_sep: str, group_sep: str) -> str:
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number):.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + group_sep.join(groups) + decimal_sep + fraction


@given(decimals, st.sampled_from([(",", "."), (".", ","), (",", " "), (".", "'"), (",", "")]))
def test_decimal_round_trip(number: Decimal, separators: tuple[str, str]) -> None:
    decimal_sep, group_sep = separators
    text = formatted(number, decimal_sep, group_sep)
    options = ConvertOptions(decimal_separator=decimal_sep)  # type: ignore[arg-type]
    assert to_decimal(text, options) == number
    if group_sep in (".", ","):
        assert to_decimal(text) == number  # two fraction digits never look like thousands


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_float_cell_to_decimal_and_text_agree(value: float) -> None:
    assert Decimal(to_text(value) or "0") == to_decimal(value)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_int_round_trip(number: int) -> None:
    assert to_int(float(number)) == number
    assert to_int(str(number)) == number
    assert to_text(float(number)) == str(number)


@given(
    st.datetimes(
        min_value=datetime.datetime(1900, 3, 1), max_value=datetime.datetime(9999, 12, 30)
    ),
    st.booleans(),
)
def test_excel_serial_round_trip(moment: datetime.datetime, date1904: bool) -> None:
    assume(not date1904 or moment >= datetime.datetime(1904, 1, 1))
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    serial = datetime_to_excel_serial(moment, date1904=date1904)
    assert excel_serial_to_datetime(serial, date1904=date1904) == moment


@given(st.dates(min_value=datetime.date(1000, 1, 1)), st.booleans())
def test_date_text_round_trip(day: datetime.date, day_first: bool) -> None:
    options = ConvertOptions(day_first=day_first)
    assert to_date(day.isoformat(), options) == day
    shown = day.strftime("%d/%m/%Y" if day_first else "%m/%d/%Y")
    assert to_date(shown, options) == day
    assert to_date(day.strftime("%d.%m.%Y"), options) == day


@given(st.booleans())
def test_bool_round_trip(value: bool) -> None:
    assert to_bool("TRUE" if value else "FALSE") is value
    assert to_bool(to_text(value)) is value


@settings(max_examples=500)
@given(
    st.from_regex(r"\A[^@\s]{1,30}@[^@\s]{1,40}\Z") | st.from_regex(_PLAIN_EMAIL, fullmatch=True)
)
def test_email_fast_path_never_accepts_what_django_refuses(value: str) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import EmailValidator

    if len(value) <= 320 and _PLAIN_EMAIL.fullmatch(value):
        try:
            EmailValidator()(value)
        except ValidationError:  # pragma: no cover - the property under test
            raise AssertionError(f"fast path accepts {value!r}, Django refuses it") from None


@settings(max_examples=500)
@given(
    st.lists(
        st.decimals(allow_nan=True, allow_infinity=True, places=None)
        | st.decimals(min_value=-(10**9), max_value=10**9, places=3)
        | st.decimals(min_value=-(10**9), max_value=10**9, places=2),
        min_size=1,
        max_size=5,
    ),
    st.integers(1, 12),
    st.integers(0, 6),
)
def test_decimal_column_check_never_accepts_what_django_refuses(
    values: list[Decimal], max_digits: int, places: int
) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import DecimalValidator

    from bulkops.tabular.columns import _fast_decimal

    assume(places <= max_digits)
    validator = DecimalValidator(max_digits, places)
    column = getattr(_fast_decimal(validator), "column", None)  # absent: validator only
    if column is not None and column(values):
        for value in values:
            try:
                validator(value)
            except ValidationError:  # pragma: no cover - the property under test
                raise AssertionError(
                    f"column check accepts {value!r} for ({max_digits}, {places})"
                ) from None


def test_decimal_column_check_passes_the_usual_column() -> None:
    from django.core.validators import DecimalValidator

    from bulkops.tabular.columns import _fast_decimal

    column = _fast_decimal(DecimalValidator(10, 2)).column  # type: ignore[attr-defined]
    assert column([Decimal("0.1"), Decimal("12.5"), Decimal("-99999999.99"), Decimal("7")])
    assert not column([Decimal("0.125")])  # three places: the validator must say so
    assert not column([Decimal("100000000")])  # nine whole digits
    assert not column([Decimal("1E+2")])
