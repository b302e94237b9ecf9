"""Turn what people type into spreadsheets into Python values.

Every converter has the signature ``(value, options) -> python value``; it receives
a non-empty cell (``None`` passes straight through) and raises
:class:`~bulkops.tabular.errors.ConversionError` with a short message for the user.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from bulkops import texts

from .cells import CellValue, cell_text
from .errors import ConversionError


@dataclass(frozen=True)
class ConvertOptions:
    """Conventions of one file; the import definition fills these per upload."""

    day_first: bool = True
    """"05/03/2024" is 5 March (True) or May 3 (False). Dotted dates are always day-first."""
    decimal_separator: Literal[",", "."] | None = None
    """None guesses per value and refuses the ambiguous ones such as "1,234"."""
    date1904: bool = False
    """The workbook counts serial dates from 1904 (old Mac Excel)."""


Converter = Callable[[CellValue, ConvertOptions], Any]

# Excel day 0 of the 1900 system is 1899-12-31, but Excel believes 1900 was a leap
# year, so from serial 61 (1900-03-01) onward the effective epoch is 1899-12-30.
_EPOCH_1900 = datetime.datetime(1899, 12, 30)
_EPOCH_1900_EARLY = datetime.datetime(1899, 12, 31)
_EPOCH_1904 = datetime.datetime(1904, 1, 1)
_MAX_SERIAL = 2_958_465  # 9999-12-31


def shown(value: CellValue) -> str:
    text = cell_text(value).strip()
    return f'"{text[:40]}…"' if len(text) > 40 else f'"{text}"'


# Text ---------------------------------------------------------------------------------
INVISIBLE = "\u200b\u200c\u200d\ufeff"
_INVISIBLE = INVISIBLE


def to_text(value: CellValue, options: ConvertOptions | None = None) -> str | None:
    """Text as typed: numbers lose a spurious ".0", text keeps its leading zeros."""
    if value is None:
        return None
    text = (value if type(value) is str else cell_text(value)).strip()
    if text and (text[0] in _INVISIBLE or text[-1] in _INVISIBLE):
        text = text.strip(_INVISIBLE).strip()
    return text


# Numbers ------------------------------------------------------------------------------
_GROUPING = str.maketrans("", "", " \u00a0\u202f\u2009'’_")
_CURRENCY = "€$£¥₹₽₩₺₫₪"
_NUMBER = re.compile(r"[0-9.,]+(?:[eE][+-]?[0-9]+)?")


def to_decimal(value: CellValue, options: ConvertOptions | None = None) -> Decimal | None:
    options = options or ConvertOptions()
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConversionError(texts.gettext("%(value)s is not a number.", value=shown(value)))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConversionError(texts.gettext("Enter a finite number."))
        # repr is the shortest round-tripping form: 0.1 stays 0.1, not 0.1000000000000000055.
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise ConversionError(texts.gettext("%(value)s is not a number.", value=shown(value)))
    return _parse_number_text(value, options.decimal_separator)


def _parse_number_text(raw: str, separator: str | None) -> Decimal:
    text = unicodedata.normalize("NFKC", raw).strip().translate(_GROUPING)
    text = text.replace("−", "-")  # U+2212 minus sign from copy-pasted reports
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    text = text.strip(_CURRENCY)
    if text[:1] in ("+", "-"):
        negative, text = negative != (text[0] == "-"), text[1:]
    text = text.strip(_CURRENCY)
    if "%" in text:
        raise ConversionError(
            texts.gettext(
                "%(value)s is a percentage; enter the number without %%.", value=shown(raw)
            )
        )
    if not text or not _NUMBER.fullmatch(text):
        raise ConversionError(texts.gettext("%(value)s is not a number.", value=shown(raw)))
    mantissa, _, exponent = text.partition("e") if "e" in text else text.partition("E")
    decimal_sep = separator or _guess_separator(mantissa, raw)
    group_sep = "," if decimal_sep == "." else "."
    whole, _, fraction = mantissa.partition(decimal_sep)
    if decimal_sep in fraction or group_sep in fraction:
        raise ConversionError(texts.gettext("%(value)s is not a number.", value=shown(raw)))
    if group_sep in whole:
        groups = whole.split(group_sep)
        if not groups[0] or not all(len(group) == 3 for group in groups[1:]):
            raise ConversionError(texts.gettext("%(value)s is not a number.", value=shown(raw)))
        whole = "".join(groups)
    if exponent and separator is None and decimal_sep != ".":
        raise ConversionError(texts.gettext("%(value)s is not a number.", value=shown(raw)))
    digits = (
        (whole or "0") + (f".{fraction}" if fraction else "") + (f"e{exponent}" if exponent else "")
    )
    try:
        number = Decimal(digits)
    except InvalidOperation:
        raise ConversionError(
            texts.gettext("%(value)s is not a number.", value=shown(raw))
        ) from None
    if not number.is_finite():
        raise ConversionError(texts.gettext("Enter a finite number."))
    return -number if negative else number


def _guess_separator(mantissa: str, raw: str) -> str:
    commas, points = mantissa.count(","), mantissa.count(".")
    if commas and points:
        return "," if mantissa.rfind(",") > mantissa.rfind(".") else "."
    if not commas and not points:
        return "."
    mark = "," if commas else "."
    if commas + points > 1:
        return "." if mark == "," else ","  # repeated: it groups thousands
    whole, fraction = mantissa.split(mark)
    if len(fraction) == 3 and whole not in ("", "0"):
        raise ConversionError(
            texts.gettext(
                "%(value)s is ambiguous: it could be a decimal number or a whole number with a "
                "thousands separator. Choose the decimal separator for this import.",
                value=shown(raw),
            )
        )
    return mark


def to_int(value: CellValue, options: ConvertOptions | None = None) -> int | None:
    """Whole numbers, including the 12.0 a spreadsheet stores for 12."""
    if value.__class__ is float and value.is_integer():  # type: ignore[union-attr]
        return int(value)  # type: ignore[arg-type]
    if value.__class__ is int:
        return value  # type: ignore[return-value]
    number = to_decimal(value, options)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ConversionError(texts.gettext("%(value)s is not a whole number.", value=shown(value)))
    return int(number)


def to_float(value: CellValue, options: ConvertOptions | None = None) -> float | None:
    if isinstance(value, float):
        return value
    number = to_decimal(value, options)
    return None if number is None else float(number)


# Booleans -----------------------------------------------------------------------------
TRUE_WORDS = frozenset(
    {
        "yes",
        "y",
        "true",
        "t",
        "1",
        "si",
        "sí",
        "s",
        "x",
        "✓",
        "✔",
        "☑",
        "on",
        "ja",
        "oui",
        "sim",
        "verdadero",
    }
)
FALSE_WORDS = frozenset(
    {"no", "n", "false", "f", "0", "✗", "✘", "☐", "off", "nein", "non", "não", "nao", "falso", "-"}
)


def to_bool(value: CellValue, options: ConvertOptions | None = None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold().rstrip(".")
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ConversionError(
        texts.gettext(
            "%(value)s is not yes or no. Use yes/no, true/false or 1/0.", value=shown(value)
        )
    )


# Dates and times ----------------------------------------------------------------------
def excel_serial_to_datetime(serial: float, *, date1904: bool = False) -> datetime.datetime:
    """Convert an Excel serial day number, honouring the 1900 leap-year bug."""
    if serial != serial or serial < 0 or serial > _MAX_SERIAL:
        raise ConversionError(
            texts.gettext('"%(value)s" is not a date Excel can hold.', value=cell_text(serial))
        )
    if date1904:
        epoch = _EPOCH_1904
    elif serial >= 61:
        epoch = _EPOCH_1900
    elif serial >= 60:
        raise ConversionError(
            texts.gettext("29/02/1900 does not exist (Excel counts it by mistake).")
        )
    else:
        epoch = _EPOCH_1900_EARLY
    days = int(serial)
    # Excel keeps milliseconds; rounding there undoes the binary fraction noise.
    millis = round((serial - days) * 86_400_000)
    return epoch + datetime.timedelta(days=days, milliseconds=millis)


def datetime_to_excel_serial(
    moment: datetime.datetime | datetime.date, *, date1904: bool = False
) -> float:
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.combine(moment, datetime.time())
    if date1904:
        delta = moment - _EPOCH_1904
    elif moment >= datetime.datetime(1900, 3, 1):
        delta = moment - _EPOCH_1900
    else:
        delta = moment - _EPOCH_1900_EARLY
    return delta.days + (delta.seconds * 1000 + delta.microseconds // 1000) / 86_400_000


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            "january jan enero ene janvier janv januar jän janeiro gennaio gen",
            "february feb febrero février févr fevrier fevr februar fevereiro fev febbraio",
            "march mar marzo mars märz marz março marco",
            "april apr abril abr avril aprile",
            "may mayo mai maio maggio mag",
            "june jun junio juin juni junho giugno giu",
            "july jul julio juillet juil juli julho luglio lug",
            "august aug agosto ago août aout",
            "september sep sept septiembre setiembre septembre set settembre",
            "october oct octubre octobre oktober okt outubro ottobre ott",
            "november nov noviembre novembre novembro",
            "december dec diciembre dic décembre decembre dezember dez dezembro dicembre",
        ],
        start=1,
    )
    for name in names.split()
}
_TIME = (
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,6}))?)?\s*(?P<P>[ap]\.?m\.?)?"
)
_ZONE = r"\s*(?P<Z>z|utc|gmt|[+-]\d{2}:?\d{2})?"
_ISO = re.compile(
    rf"(?P<y>\d{{4}})[-/](?P<m>\d{{1,2}})[-/](?P<d>\d{{1,2}})(?:(?:t|\s+){_TIME}{_ZONE})?"
)
_NUMERIC = re.compile(
    rf"(?P<a>\d{{1,2}})(?P<sep>[/.-])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}|\d{{2}})(?:,?\s+{_TIME}{_ZONE})?"
)
_NAMED_DMY = re.compile(
    rf"(?P<d>\d{{1,2}})\.?[\s/-]*(?:de\s+)?(?P<mon>[^\W\d_]+)\.?[\s/-]*(?:de\s+)?(?P<y>\d{{4}}|\d{{2}})(?:,?\s+{_TIME}{_ZONE})?"
)
_NAMED_MDY = re.compile(
    rf"(?P<mon>[^\W\d_]+)\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})(?:,?\s+{_TIME}{_ZONE})?"
)
_TIME_ONLY = re.compile(_TIME)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # Excel's pivot: 00-29 -> 20xx, 30-99 -> 19xx
        year += 2000 if year < 30 else 1900
    return year


def _time_parts(match: re.Match[str]) -> tuple[datetime.time, datetime.tzinfo | None]:
    if match.group("H") is None:
        return datetime.time(), None
    hour, minute = int(match.group("H")), int(match.group("M"))
    second = int(match.group("S") or 0)
    micro = int((match.group("F") or "0").ljust(6, "0"))
    meridiem = match.group("P")
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    zone = None
    if "Z" in match.groupdict() and match.group("Z"):
        tag = match.group("Z")
        if tag in ("z", "utc", "gmt"):
            zone = datetime.timezone.utc
        else:
            sign = -1 if tag[0] == "-" else 1
            digits = tag[1:].replace(":", "")
            zone = datetime.timezone(
                sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            )
    return datetime.time(hour, minute, second, micro), zone


def _parse_datetime_text(raw: str, options: ConvertOptions) -> tuple[datetime.datetime, bool]:
    """(moment, had_time) from text; raises ValueError for anything unrecognised."""
    text = " ".join(raw.strip().casefold().split())
    match = _ISO.fullmatch(text)
    if match:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    elif match := _NUMERIC.fullmatch(text):
        first, second = int(match["a"]), int(match["b"])
        day_first = options.day_first or match["sep"] == "."
        day, month = (first, second) if day_first else (second, first)
        year = _year(match["y"])
    elif (match := _NAMED_DMY.fullmatch(text)) or (match := _NAMED_MDY.fullmatch(text)):
        month = _MONTHS.get(match["mon"].rstrip("."), 0)
        day, year = int(match["d"]), _year(match["y"])
    else:
        raise ValueError
    clock, zone = _time_parts(match)
    moment = datetime.datetime.combine(datetime.date(year, month, day), clock, zone)
    return moment, match.group("H") is not None


def _date_hint(options: ConvertOptions) -> texts.Text:
    return texts.gettext("DD/MM/YYYY") if options.day_first else texts.gettext("MM/DD/YYYY")


def to_datetime(
    value: CellValue, options: ConvertOptions | None = None
) -> datetime.datetime | None:
    """A date and time; naive unless the text carries an offset."""
    options = options or ConvertOptions()
    if value is None or isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return excel_serial_to_datetime(float(value), date1904=options.date1904)
    if isinstance(value, str):
        try:
            return _parse_datetime_text(value, options)[0]
        except ValueError:
            pass
        stripped = value.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", stripped):
            return excel_serial_to_datetime(float(stripped), date1904=options.date1904)
    raise ConversionError(
        texts.gettext(
            "%(value)s is not a date and time. Use YYYY-MM-DD HH:MM or %(hint)s HH:MM.",
            value=shown(value),
            hint=_date_hint(options),
        )
    )


def to_date(value: CellValue, options: ConvertOptions | None = None) -> datetime.date | None:
    options = options or ConvertOptions()
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        moment = to_datetime(value, options)
    except ConversionError:
        raise ConversionError(
            texts.gettext(
                "%(value)s is not a date. Use YYYY-MM-DD or %(hint)s.",
                value=shown(value),
                hint=_date_hint(options),
            )
        ) from None
    return moment.date() if moment else None


def to_time(value: CellValue, options: ConvertOptions | None = None) -> datetime.time | None:
    options = options or ConvertOptions()
    if value is None or isinstance(value, datetime.time):
        return value
    if isinstance(value, datetime.datetime):
        return value.time()
    if isinstance(value, datetime.timedelta) and value < datetime.timedelta(days=1):
        return (datetime.datetime.min + value).time()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool) and 0 <= value < 1:
        moment = _EPOCH_1900 + datetime.timedelta(milliseconds=round(float(value) * 86_400_000))
        return moment.time()
    if isinstance(value, str):
        match = _TIME_ONLY.fullmatch(" ".join(value.strip().casefold().split()))
        if match:
            try:
                return _time_parts(match)[0]
            except ValueError:
                pass
    raise ConversionError(
        texts.gettext("%(value)s is not a time. Use HH:MM or HH:MM:SS.", value=shown(value))
    )
