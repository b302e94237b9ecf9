"""Per-column cleaning: spreadsheet cell -> value a model field accepts.

Each column is compiled once per import into a plain function so the per-cell
work is a few attribute-free calls; the model field's own ``to_python``,
validators, choices, ``max_length`` and null/blank rules still decide.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core import validators as django_validators
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation

from bulkops import texts

from . import converters
from .cells import CellValue, cell_text
from .columnwise import (  # noqa: F401  (ManyCleaner, many_cleaner: re-exported)
    ManyCleaner,
    aware_many,
    many_cleaner,
    memo_many,
    number_many,
    ready_many,
    text_many,
)
from .converters import ConversionError, Converter, ConvertOptions
from .headers import normalize_header

Cleaner = Callable[[CellValue], Any]


class Skip:
    """Marker: leave the field out of the row (the model default applies on create)."""


SKIP = Skip()


@dataclass(frozen=True)
class Column:
    """How one model field is filled from the file; every attribute is optional."""

    header: str | None = None
    """The header text to expect, on top of the field name and verbose name."""
    aliases: Sequence[str] = ()
    """More header texts that map to this field."""
    converter: Converter | None = None
    """``(value, options) -> value``; defaults by field type (see converters)."""
    lookup: str | None = None
    """For a foreign key: the related model's field the file holds (a natural key)."""
    required: bool | None = None
    """Must the file have this column? None: when the field has no default and no blank."""
    extra: dict[str, Any] = field(default_factory=dict)


def default_converter(model_field: models.Field[Any, Any]) -> Converter:
    """The converter for a field type; other types get text for their ``to_python``."""
    if isinstance(model_field, models.BooleanField):
        return converters.to_bool
    if isinstance(model_field, models.DateTimeField):
        return converters.to_datetime
    if isinstance(model_field, models.DateField):
        return converters.to_date
    if isinstance(model_field, models.TimeField):
        return converters.to_time
    if isinstance(model_field, models.DecimalField):
        return converters.to_decimal
    if isinstance(model_field, models.FloatField):
        return converters.to_float
    if isinstance(model_field, models.IntegerField | models.AutoField):
        return converters.to_int
    return converters.to_text


def empty_value(model_field: models.Field[Any, Any]) -> Any:
    """What an empty cell stores, or SKIP when only the default fits."""
    if model_field.null:
        return None
    if isinstance(model_field, models.BooleanField):
        return False
    if model_field.blank and model_field.empty_strings_allowed:
        return ""
    return SKIP


def header_names(model_field: models.Field[Any, Any], column: Column) -> list[str]:
    names = [model_field.name, str(model_field.verbose_name), model_field.attname]
    if column.lookup:
        # "Country code" / "country__code" name the related model's natural key.
        names += [f"{model_field.name} {column.lookup}", f"{model_field.name}__{column.lookup}"]
    if column.header:
        names.insert(0, column.header)
    names.extend(column.aliases)
    return names


def _choices_map(model_field: models.Field[Any, Any]) -> dict[str, Any]:
    """Folded value and label -> stored value, so "Active" and "active" both fit."""
    mapping: dict[str, Any] = {}
    for value, label in model_field.flatchoices:
        mapping.setdefault(normalize_header(cell_text(value)), value)
        mapping.setdefault(normalize_header(str(label)), value)
    return mapping


def _error_text(error: ValidationError) -> texts.Text | str:
    """Django's own messages keep their ids, so they render in the reader's language."""
    parts: list[texts.Text | str] = []
    for item in error.error_list:
        params = item.params if isinstance(item.params, dict) else {}
        with translation.override("en"):
            english = str(item.message % params if params else item.message)
            try:
                # Parameters as Django shows them (12000, not 12,000), so the text round-trips.
                shown = {k: str(_param(v)) for k, v in params.items()}
                candidate = texts.Text(str(item.message), shown)
                same = candidate.english == english
            except (KeyError, TypeError, ValueError):
                same = False
        # Plural forms and custom messages that do not round-trip stay as English text.
        parts.append(candidate if same else english)
    return texts.join(parts, " ")


def _param(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float) else str(value)


def _lazy_text(message: Any) -> texts.Text:
    with translation.override("en"):
        return texts.Text(str(message))


def _choice_text(message: Any, value: Any) -> texts.Text:
    with translation.override("en"):
        return texts.Text(str(message), {"value": _param(value)})


def _too_long(limit: int, length: int) -> texts.Text:
    return texts.ngettext(
        "Ensure this value has at most %(count)s character (it has %(length)s).",
        "Ensure this value has at most %(count)s characters (it has %(length)s).",
        limit,
        length=length,
    )


# Conservative subset of what Django's EmailValidator accepts: a match skips the full
# validator (several regexes and a split per call); anything else still gets it.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_TYPES_DONE: tuple[tuple[type[models.Field[Any, Any]], tuple[type, ...]], ...] = (
    # Field classes whose to_python returns a value of these types unchanged.
    (models.BooleanField, (bool,)),
    (models.DateTimeField, (datetime.datetime,)),
    (models.IntegerField, (int,)),
    (models.FloatField, (float,)),
)


def _fast_email(validator: Callable[[Any], None]) -> Callable[[Any], None]:
    match = _PLAIN_EMAIL.fullmatch

    def check(value: Any) -> None:
        if not (isinstance(value, str) and len(value) <= 320 and match(value)):
            validator(value)

    check.plain = match  # type: ignore[attr-defined]
    return check


def _fast_decimal(validator: django_validators.DecimalValidator) -> Callable[[Any], None]:
    """DecimalValidator, with a whole-column check for columns that clearly pass.

    A column passes when every value is finite, under ``10 ** (max_digits -
    decimal_places)`` in size, and written with at most ``decimal_places`` digits after
    the point: one ``str()`` per value and one regex over them all, instead of a
    ``Decimal.as_tuple()`` and a call per value. Any doubt runs the validator itself.
    """
    digits, places = validator.max_digits, validator.decimal_places
    if digits is None or places is None or digits - places < 1:
        # No limits, or no room before the point (Django counts the 0 of "0" as a
        # digit there): the validator decides every value.
        return validator
    limit = Decimal(10) ** (digits - places)
    # More than ``places`` digits after the point, or exponent form.
    doubt = re.compile(rf"\.\d{{{places + 1}}}|[eE]")

    def check(value: Any) -> None:
        validator(value)

    def column(values: list[Any]) -> bool:
        if set(map(type, values)) != {Decimal} or not all(map(Decimal.is_finite, values)):
            return False
        if max(map(abs, values)) >= limit:
            return False
        return not doubt.search("\n".join(map(str, values)))

    check.column = column  # type: ignore[attr-defined]
    return check


def _compile_validators(
    target: models.Field[Any, Any], text_field: bool
) -> list[Callable[[Any], None]]:
    checks: list[Callable[[Any], None]] = []
    for validator in target.validators:
        kind = type(validator)
        if text_field and kind in (
            django_validators.MaxLengthValidator,
            django_validators.ProhibitNullCharactersValidator,
        ):
            continue  # checked inline on the string
        if kind is django_validators.EmailValidator:
            checks.append(_fast_email(validator))
        elif kind is django_validators.DecimalValidator:
            checks.append(_fast_decimal(validator))  # type: ignore[arg-type]
        else:
            checks.append(validator)
    return checks


def build_cleaner(
    model_field: models.Field[Any, Any], column: Column, options: ConvertOptions
) -> Cleaner:
    """Compile the cell -> value function for one column.

    Raises ConversionError for a value that does not fit. A foreign key with a
    lookup returns the natural key; the caller resolves it in bulk (so the related
    field's own validators are not run: "no such country" is the useful message).
    """
    target = model_field
    if model_field.is_relation and model_field.many_to_one:
        related = model_field.related_model._meta  # type: ignore[union-attr]
        target = related.get_field(column.lookup) if column.lookup else related.pk  # type: ignore[assignment]
    is_fk = target is not model_field
    convert: Converter = column.converter or default_converter(target)
    empty = empty_value(model_field)
    has_default = model_field.has_default()
    blank_message = _lazy_text(model_field.error_messages["blank"])
    choices = _choices_map(model_field) if model_field.choices else None
    choices_seen: dict[Any, Any] = {}
    valid_choices = {value for value, _ in model_field.flatchoices} if choices else None
    invalid_choice = model_field.error_messages["invalid_choice"]
    make_aware = isinstance(target, models.DateTimeField) and _use_tz()
    text_field = isinstance(target, models.CharField | models.TextField)
    max_length = getattr(target, "max_length", None) if text_field else None
    checks = [] if is_fk else _compile_validators(target, text_field)
    done_types = next((t for cls, t in _TYPES_DONE if isinstance(target, cls)), ())
    if isinstance(target, models.DateField) and not isinstance(target, models.DateTimeField):
        done_types = (datetime.date,)

    def missing() -> Any:
        if empty is SKIP:
            if has_default:
                return SKIP
            raise ConversionError(blank_message)
        return empty

    if text_field and convert is converters.to_text and choices is None:
        text_clean = _text_cleaner(max_length, missing, empty, blank_message, checks)
        text_clean.many = text_many(text_clean, max_length, checks)  # type: ignore[attr-defined]
        return text_clean

    # A cell already of the field's own type (a date cell for a DateField, a TRUE for a
    # BooleanField) needs no conversion, only the field's validators.
    ready_types = (
        done_types if column.converter is None and choices is None and not make_aware else ()
    )

    def clean(raw: CellValue) -> Any:
        if raw is None:
            return missing()
        if raw.__class__ in ready_types:
            if checks:
                try:
                    for check in checks:
                        check(raw)
                except ValidationError as exc:
                    raise ConversionError(_error_text(exc)) from None
            return raw
        value = convert(raw, options)
        if value is None or value == "":
            if empty is SKIP:
                raise ConversionError(blank_message)
            return empty
        if choices is not None:
            try:
                value = choices_seen[value]
            except (KeyError, TypeError):
                folded = choices.get(normalize_header(cell_text(value)), value)
                if len(choices_seen) < 10_000:
                    choices_seen[value] = folded
                value = folded
        if text_field and type(value) is str:
            # CharField.to_python returns a str unchanged; its two built-in validators
            # are these checks, done without building a ValidationError per cell.
            if max_length is not None and len(value) > max_length:
                raise ConversionError(_too_long(max_length, len(value)))
            if "\x00" in value:
                raise ConversionError(texts.gettext("Null characters are not allowed."))
        elif type(value) in done_types and not (
            make_aware and timezone.is_naive(value)  # type: ignore[arg-type]
        ):
            pass
        else:
            if make_aware and isinstance(value, datetime.datetime) and timezone.is_naive(value):
                value = _aware(value)
            try:
                value = target.to_python(value)
            except ValidationError as exc:
                raise ConversionError(_error_text(exc)) from None
            if value in target.empty_values:
                if empty is SKIP:
                    raise ConversionError(blank_message)
                return empty
        try:
            for check in checks:
                check(value)
        except ValidationError as exc:
            raise ConversionError(_error_text(exc)) from None
        if valid_choices is not None and value not in valid_choices:
            raise ConversionError(_choice_text(invalid_choice, value))
        return value

    if choices is not None:
        clean.many = memo_many(clean)  # type: ignore[attr-defined]
    elif column.converter is None and isinstance(target, models.DecimalField | models.IntegerField):
        integer = isinstance(target, models.IntegerField)
        clean.many = number_many(clean, checks, integer=integer)  # type: ignore[attr-defined]
    elif make_aware and column.converter is None:
        clean.many = aware_many(clean, checks)  # type: ignore[attr-defined]
    else:
        clean.many = ready_many(clean, ready_types, checks)  # type: ignore[attr-defined]
    return clean


def _text_cleaner(
    max_length: int | None,
    missing: Callable[[], Any],
    empty: Any,
    blank_message: texts.Text,
    checks: list[Callable[[Any], None]],
) -> Cleaner:
    """The common case, a plain CharField/TextField, without a call per step."""
    to_text = converters.to_text
    invisible = converters.INVISIBLE

    def clean(raw: CellValue) -> Any:
        if raw is None:
            return missing()
        if raw.__class__ is str:
            value = raw.strip()  # type: ignore[union-attr]
            if value and (value[0] in invisible or value[-1] in invisible):
                value = value.strip(invisible).strip()
        else:
            value = to_text(raw) or ""
        if not value:
            if empty is SKIP:
                raise ConversionError(blank_message)
            return empty
        if max_length is not None and len(value) > max_length:
            raise ConversionError(_too_long(max_length, len(value)))
        if "\x00" in value:
            raise ConversionError(texts.gettext("Null characters are not allowed."))
        if checks:
            try:
                for check in checks:
                    check(value)
            except ValidationError as exc:
                raise ConversionError(_error_text(exc)) from None
        return value

    return clean


def _use_tz() -> bool:
    from django.conf import settings

    return bool(settings.USE_TZ)


def _aware(value: datetime.datetime) -> datetime.datetime:
    zone = timezone.get_current_timezone()
    aware = value.replace(tzinfo=zone)
    # A wall time that does not exist (spring forward) or repeats (fall back) in the
    # zone cannot be stored faithfully; say so rather than shift it an hour.
    roundtrip = aware.astimezone(datetime.timezone.utc).astimezone(zone)
    if roundtrip.replace(tzinfo=None) != value or (
        isinstance(zone, zoneinfo.ZoneInfo)
        and value.replace(fold=1, tzinfo=zone).utcoffset() != aware.utcoffset()
    ):
        raise ConversionError(
            texts.gettext(
                "%(moment)s does not exist or is ambiguous in the time zone %(zone)s "
                "(a daylight saving change).",
                moment=f"{value:%Y-%m-%d %H:%M}",
                zone=str(zone),
            )
        )
    return aware
