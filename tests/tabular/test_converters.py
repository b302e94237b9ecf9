"""Converters: good values, bad values and their messages."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from bulkops.tabular import (
    ConversionError,
    ConvertOptions,
    datetime_to_excel_serial,
    excel_serial_to_datetime,
    to_bool,
    to_date,
    to_datetime,
    to_decimal,
    to_float,
    to_int,
    to_text,
    to_time,
)

DMY = ConvertOptions(day_first=True)
MDY = ConvertOptions(day_first=False)
COMMA = ConvertOptions(decimal_separator=",")
POINT = ConvertOptions(decimal_separator=".")


def message(func: object, value: object, options: ConvertOptions | None = None) -> str:
    with pytest.raises(ConversionError) as info:
        func(value, options)  # type: ignore[operator]
    assert isinstance(info.value, ValueError)
    return info.value.message


# Text ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123.0, "123"),
        (28001.0, "28001"),
        (34600123456.0, "34600123456"),
        (1e20, "100000000000000000000"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (12, "12"),
        ("00123", "00123"),
        ("  Ann\u00a0", "Ann"),
        ("\ufeffcode\u200b", "code"),
        (True, "TRUE"),
        (datetime.date(2024, 3, 5), "2024-03-05"),
        (datetime.datetime(2024, 3, 5, 10, 30), "2024-03-05 10:30:00"),
        (None, None),
    ],
)
def test_to_text(value: object, expected: str | None) -> None:
    assert to_text(value) == expected  # type: ignore[arg-type]


# Numbers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        (10.5, None, Decimal("10.5")),
        (0.1, None, Decimal("0.1")),
        (7, None, Decimal(7)),
        ("12", None, Decimal(12)),
        ("-3", None, Decimal(-3)),
        ("+3.25", None, Decimal("3.25")),
        ("1,5", None, Decimal("1.5")),
        ("1.5", None, Decimal("1.5")),
        ("1.234,56", None, Decimal("1234.56")),
        ("1,234.56", None, Decimal("1234.56")),
        ("1.234.567", None, Decimal(1234567)),
        ("1,234,567", None, Decimal(1234567)),
        ("1 234,5", None, Decimal("1234.5")),
        ("1\u00a0234,5", None, Decimal("1234.5")),
        ("1'234.50", None, Decimal("1234.50")),
        ("(1,234.00)", None, Decimal("-1234.00")),
        ("€12,50", None, Decimal("12.50")),
        ("12,50 €", None, Decimal("12.50")),
        ("$ 1,000.00", None, Decimal("1000.00")),
        ("−7", None, Decimal(-7)),
        ("0,125", None, Decimal("0.125")),
        (",5", None, Decimal("0.5")),
        ("1,234", COMMA, Decimal("1.234")),
        ("1,234", POINT, Decimal(1234)),
        ("1.234", COMMA, Decimal(1234)),
        ("1.234", POINT, Decimal("1.234")),
        ("1.5e3", None, Decimal("1.5e3")),
    ],
)
def test_to_decimal(value: object, options: ConvertOptions | None, expected: Decimal) -> None:
    assert to_decimal(value, options) == expected  # type: ignore[arg-type]


def test_ambiguous_thousands_needs_separator() -> None:
    assert message(to_decimal, "1,234") == (
        '"1,234" is ambiguous: it could be a decimal number or a whole number with a thousands '
        "separator. Choose the decimal separator for this import."
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("abc", '"abc" is not a number.'),
        ("1,2,3.4.5", '"1,2,3.4.5" is not a number.'),
        ("12.5.1", '"12.5.1" is not a number.'),
        ("1,23,456", '"1,23,456" is not a number.'),
        ("12%", '"12%" is a percentage; enter the number without %.'),
        ("--1", '"--1" is not a number.'),
        (True, '"TRUE" is not a number.'),
        (datetime.date(2024, 1, 1), '"2024-01-01" is not a number.'),
        (float("nan"), "Enter a finite number."),
        ("", '"" is not a number.'),
    ],
)
def test_to_decimal_errors(value: object, text: str) -> None:
    assert message(to_decimal, value) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12.0, 12), (12, 12), ("12", 12), ("1.000.000", 1_000_000), ("007", 7), ("-4", -4)],
)
def test_to_int(value: object, expected: int) -> None:
    assert to_int(value) == expected  # type: ignore[arg-type]


def test_to_int_refuses_fraction() -> None:
    assert message(to_int, 12.5) == '"12.5" is not a whole number.'
    assert message(to_int, "3,7") == '"3,7" is not a whole number.'


def test_to_float() -> None:
    assert to_float(2.5) == 2.5
    assert to_float("2,5") == 2.5
    assert message(to_float, "x") == '"x" is not a number.'


# Booleans -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "yes",
        "YES",
        "Y",
        "y",
        "1",
        "true",
        "True",
        "si",
        "Sí",
        "SÍ",
        "x",
        "X",
        "✓",
        "✔",
        1,
        1.0,
        True,
    ],
)
def test_to_bool_true(value: object) -> None:
    assert to_bool(value) is True  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", ["no", "NO", "n", "0", "false", "FALSE", "✗", " No ", 0, 0.0, False]
)
def test_to_bool_false(value: object) -> None:
    assert to_bool(value) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["maybe", "2", 2, "yess"])
def test_to_bool_errors(value: object) -> None:
    assert message(to_bool, value).endswith("is not yes or no. Use yes/no, true/false or 1/0.")


# Excel serial dates -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, datetime.datetime(1900, 1, 1)),
        (59, datetime.datetime(1900, 2, 28)),
        (61, datetime.datetime(1900, 3, 1)),
        (45000, datetime.datetime(2023, 3, 15)),
        (45000.5, datetime.datetime(2023, 3, 15, 12)),
        (45000.4375, datetime.datetime(2023, 3, 15, 10, 30)),
        (45000.438194444, datetime.datetime(2023, 3, 15, 10, 31)),
        (2958465, datetime.datetime(9999, 12, 31)),
    ],
)
def test_excel_serial_1900(serial: float, expected: datetime.datetime) -> None:
    assert excel_serial_to_datetime(serial) == expected


def test_excel_serial_1900_leap_bug() -> None:
    with pytest.raises(ConversionError) as info:
        excel_serial_to_datetime(60)
    assert info.value.message == "29/02/1900 does not exist (Excel counts it by mistake)."


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (0, datetime.datetime(1904, 1, 1)),
        (1, datetime.datetime(1904, 1, 2)),
        (43538, datetime.datetime(2023, 3, 15)),
    ],
)
def test_excel_serial_1904(serial: float, expected: datetime.datetime) -> None:
    assert excel_serial_to_datetime(serial, date1904=True) == expected


@pytest.mark.parametrize("serial", [-1, 2958466, float("nan")])
def test_excel_serial_out_of_range(serial: float) -> None:
    with pytest.raises(ConversionError):
        excel_serial_to_datetime(serial)


def test_serial_round_trip_known() -> None:
    moment = datetime.datetime(2024, 2, 29, 23, 59, 59)
    assert excel_serial_to_datetime(datetime_to_excel_serial(moment)) == moment
    assert (
        excel_serial_to_datetime(datetime_to_excel_serial(moment, date1904=True), date1904=True)
        == moment
    )


# Dates from text ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("2024-03-05", DMY, datetime.date(2024, 3, 5)),
        ("2024/3/5", DMY, datetime.date(2024, 3, 5)),
        ("05/03/2024", DMY, datetime.date(2024, 3, 5)),
        ("05/03/2024", MDY, datetime.date(2024, 5, 3)),
        ("5/3/24", DMY, datetime.date(2024, 3, 5)),
        ("5/3/95", DMY, datetime.date(1995, 3, 5)),
        ("05-03-2024", DMY, datetime.date(2024, 3, 5)),
        ("05.03.2024", DMY, datetime.date(2024, 3, 5)),
        ("05.03.2024", MDY, datetime.date(2024, 3, 5)),  # dots are always day-first
        ("12/31/2024", MDY, datetime.date(2024, 12, 31)),
        ("5 Mar 2024", DMY, datetime.date(2024, 3, 5)),
        ("05-Mar-2024", DMY, datetime.date(2024, 3, 5)),
        ("March 5, 2024", DMY, datetime.date(2024, 3, 5)),
        ("Mar 5th 2024", DMY, datetime.date(2024, 3, 5)),
        ("3 de marzo de 2024", DMY, datetime.date(2024, 3, 3)),
        ("1. Oktober 2024", DMY, datetime.date(2024, 10, 1)),
        (" 2024-03-05 ", DMY, datetime.date(2024, 3, 5)),
        (45000.0, DMY, datetime.date(2023, 3, 15)),
        ("45000", DMY, datetime.date(2023, 3, 15)),
        (datetime.datetime(2024, 3, 5, 10), DMY, datetime.date(2024, 3, 5)),
    ],
)
def test_to_date(text: object, options: ConvertOptions, expected: datetime.date) -> None:
    assert to_date(text, options) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "options", "shown"),
    [
        ("31/02/2024", DMY, '"31/02/2024" is not a date. Use YYYY-MM-DD or DD/MM/YYYY.'),
        ("13/25/2024", MDY, '"13/25/2024" is not a date. Use YYYY-MM-DD or MM/DD/YYYY.'),
        ("yesterday", DMY, '"yesterday" is not a date. Use YYYY-MM-DD or DD/MM/YYYY.'),
        ("5 Foo 2024", DMY, '"5 Foo 2024" is not a date. Use YYYY-MM-DD or DD/MM/YYYY.'),
        (True, DMY, '"TRUE" is not a date. Use YYYY-MM-DD or DD/MM/YYYY.'),
    ],
)
def test_to_date_errors(text: object, options: ConvertOptions, shown: str) -> None:
    assert message(to_date, text, options) == shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05 10:20", datetime.datetime(2024, 3, 5, 10, 20)),
        ("2024-03-05T10:20:30", datetime.datetime(2024, 3, 5, 10, 20, 30)),
        ("2024-03-05 10:20:30.250", datetime.datetime(2024, 3, 5, 10, 20, 30, 250000)),
        ("05/03/2024 22:05", datetime.datetime(2024, 3, 5, 22, 5)),
        ("05/03/2024 10:05 PM", datetime.datetime(2024, 3, 5, 22, 5)),
        ("05/03/2024 12:05 am", datetime.datetime(2024, 3, 5, 0, 5)),
        ("2024-03-05", datetime.datetime(2024, 3, 5)),
        (45000.75, datetime.datetime(2023, 3, 15, 18)),
        (datetime.date(2024, 3, 5), datetime.datetime(2024, 3, 5)),
    ],
)
def test_to_datetime(text: object, expected: datetime.datetime) -> None:
    assert to_datetime(text, DMY) == expected  # type: ignore[arg-type]


def test_to_datetime_with_offset_is_aware() -> None:
    value = to_datetime("2024-03-05T10:20:30+02:00")
    assert value is not None and value.utcoffset() == datetime.timedelta(hours=2)
    value = to_datetime("2024-03-05 10:20Z")
    assert value is not None and value.utcoffset() == datetime.timedelta(0)


def test_to_datetime_error() -> None:
    assert message(to_datetime, "2024-03-05 25:00") == (
        '"2024-03-05 25:00" is not a date and time. Use YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM.'
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10:30", datetime.time(10, 30)),
        ("10:30:15", datetime.time(10, 30, 15)),
        ("9:05 pm", datetime.time(21, 5)),
        (0.4375, datetime.time(10, 30)),
        (datetime.timedelta(hours=3), datetime.time(3)),
        (datetime.datetime(2024, 1, 1, 8, 15), datetime.time(8, 15)),
    ],
)
def test_to_time(value: object, expected: datetime.time) -> None:
    assert to_time(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["25:00", "noon", 1.5, "13:00 pm"])
def test_to_time_errors(value: object) -> None:
    assert message(to_time, value).endswith("is not a time. Use HH:MM or HH:MM:SS.")


def test_none_passes_through() -> None:
    for func in (to_text, to_int, to_decimal, to_float, to_bool, to_date, to_datetime, to_time):
        assert func(None) is None
