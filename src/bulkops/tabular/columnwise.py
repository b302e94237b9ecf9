"""Whole-column cleaning of a chunk.

A chunk is cleaned column by column: the common case (every cell already fine) is
checked with a few C-level passes over the column; any doubt sends the whole column
through the per-cell cleaner, which produces the exact messages. Results are always
the per-cell cleaner's.
"""

from __future__ import annotations

import contextlib
import datetime
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core import validators as django_validators
from django.core.exceptions import ValidationError

from bulkops.texts import Text

from . import converters
from .cells import CellValue
from .converters import ConversionError

Cleaner = Callable[[CellValue], Any]


ManyCleaner = Callable[[list[CellValue]], tuple[list[Any], dict[int, Text | str]]]


def many_cleaner(clean: Cleaner) -> ManyCleaner:
    return getattr(clean, "many", None) or _per_cell(clean)


def _per_cell(clean: Cleaner) -> ManyCleaner:
    def many(cells: list[CellValue]) -> tuple[list[Any], dict[int, Text | str]]:
        out: list[Any] = []
        failures: dict[int, Text | str] = {}
        append = out.append
        for index, raw in enumerate(cells):
            try:
                append(clean(raw))
            except ConversionError as exc:
                append(None)
                failures[index] = exc.text
        return out, failures

    return many


def _checks_pass(values: list[Any], checks: list[Callable[[Any], None]]) -> bool:
    for check in checks:
        plain = getattr(check, "plain", None)
        if plain is not None:
            if max(map(len, values)) > 320 or not all(map(plain, values)):
                return False
            continue
        column = getattr(check, "column", None)
        if column is not None:
            if not column(values):
                return False
            continue
        kind = type(check)
        # Range validators only need the column's extremes.
        if kind is django_validators.MinValueValidator:
            if min(values) < check.limit_value:  # type: ignore[attr-defined]
                return False
            continue
        if kind is django_validators.MaxValueValidator:
            if max(values) > check.limit_value:  # type: ignore[attr-defined]
                return False
            continue
        try:
            for value in values:
                check(value)
        except ValidationError:
            return False
    return True


# Below this many cells, a column part that the fast checks refuse is cleaned cell by cell.
SMALLEST_PART = 16


def _split(fast: Callable[[list[CellValue]], list[Any] | None], slow: ManyCleaner) -> ManyCleaner:
    """``fast`` on the whole column; where it refuses, on halves, down to small parts.

    A dirty column (one bad cell in 33) would otherwise send every cell of the chunk
    through the per-cell cleaner: here only the small parts holding a bad cell go there,
    so a dirty file costs about what a clean one does. ``fast`` returns the column's
    values when every cell is fine, else None; its values are the per-cell cleaner's.
    """

    def walk(
        cells: list[CellValue], start: int, out: list[Any], failures: dict[int, Text | str]
    ) -> None:
        values = fast(cells)
        if values is not None:
            out.extend(values)
        elif len(cells) <= SMALLEST_PART:
            got, failed = slow(cells)
            out.extend(got)
            for index, message in failed.items():
                failures[start + index] = message
        else:
            middle = len(cells) // 2
            walk(cells[:middle], start, out, failures)
            walk(cells[middle:], start + middle, out, failures)

    def many(cells: list[CellValue]) -> tuple[list[Any], dict[int, Text | str]]:
        if not cells:
            return [], {}
        values = fast(cells)
        if values is not None:
            return values, {}
        out: list[Any] = []
        failures: dict[int, Text | str] = {}
        walk(cells, 0, out, failures)
        return out, failures

    return many


def text_many(
    clean: Cleaner, max_length: int | None, checks: list[Callable[[Any], None]]
) -> ManyCleaner:
    invisible = converters.INVISIBLE

    def fast(cells: list[CellValue]) -> list[Any] | None:
        if set(map(type, cells)) != {str}:
            return None
        values = [cell.strip() for cell in cells]  # type: ignore[union-attr]
        if "" in values or (max_length is not None and max(map(len, values)) > max_length):
            return None
        joined = "".join(values)
        if "\x00" in joined or any(char in joined for char in invisible):
            return None
        if checks and not _checks_pass(values, checks):
            return None
        return values

    return _split(fast, _per_cell(clean))


def number_many(
    clean: Cleaner, checks: list[Callable[[Any], None]], *, integer: bool
) -> ManyCleaner:
    """Number cells of an Integer/DecimalField: the common all-float column at C speed."""

    def fast(cells: list[CellValue]) -> list[Any] | None:
        kinds = set(map(type, cells))
        if kinds == {float}:
            if integer:
                if not all(map(float.is_integer, cells)):  # type: ignore[arg-type]
                    return None
                values: list[Any] = list(map(int, cells))  # type: ignore[arg-type]
            else:
                if not all(map(math.isfinite, cells)):  # type: ignore[arg-type]
                    return None
                # repr() is the shortest round-tripping text: 0.1 stays Decimal("0.1").
                values = list(map(Decimal, map(repr, cells)))
        elif integer and kinds == {int}:
            values = list(cells)
        else:
            return None
        if checks and not _checks_pass(values, checks):
            return None
        return values

    return _split(fast, _per_cell(clean))


def memo_many(clean: Cleaner) -> ManyCleaner:
    """Columns with choices repeat a handful of values: remember each cell's result."""
    memo: dict[Any, Any] = {}

    def many(cells: list[CellValue]) -> tuple[list[Any], dict[int, Text | str]]:
        out: list[Any] = []
        failures: dict[int, Text | str] = {}
        append = out.append
        for index, raw in enumerate(cells):
            try:
                append(memo[raw])
                continue
            except (KeyError, TypeError):
                pass
            try:
                value = clean(raw)
            except ConversionError as exc:
                append(None)
                failures[index] = exc.text
                continue
            if len(memo) < 10_000:
                with contextlib.suppress(TypeError):  # unhashable cells are not remembered
                    memo[raw] = value
            append(value)
        return out, failures

    return many


def ready_many(
    clean: Cleaner, ready_types: tuple[type, ...], checks: list[Callable[[Any], None]]
) -> ManyCleaner:
    slow = _per_cell(clean)
    ready = set(ready_types)
    if not ready:
        return slow

    def fast(cells: list[CellValue]) -> list[Any] | None:
        if set(map(type, cells)) <= ready and (not checks or _checks_pass(cells, checks)):
            return list(cells)
        return None

    return _split(fast, slow)


def aware_many(clean: Cleaner, checks: list[Callable[[Any], None]]) -> ManyCleaner:
    """Naive datetime cells of a DateTimeField under USE_TZ, in a zone without DST.

    In UTC (or any fixed offset) every wall time exists exactly once, so attaching the
    zone is all the per-cell path would do; elsewhere each cell is checked for a
    daylight-saving gap or overlap, cell by cell.
    """
    from django.utils import timezone

    slow = _per_cell(clean)

    def fast(cells: list[CellValue]) -> list[Any] | None:
        zone = timezone.get_current_timezone()
        if not _fixed_offset(zone) or set(map(type, cells)) != {datetime.datetime}:
            return None
        if any(cell.tzinfo is not None for cell in cells):  # type: ignore[union-attr]
            return None
        values = [cell.replace(tzinfo=zone) for cell in cells]  # type: ignore[union-attr,call-arg]
        if checks and not _checks_pass(values, checks):
            return None
        return values

    return _split(fast, slow)


def _fixed_offset(zone: datetime.tzinfo) -> bool:
    return isinstance(zone, datetime.timezone) or getattr(zone, "key", None) in (
        "UTC",
        "Etc/UTC",
        "Etc/GMT",
        "GMT",
    )
