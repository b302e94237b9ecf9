"""Whole-column cleaning of a chunk.

A chunk is cleaned column by column: the common case (every cell already fine) is
checked with a few C-level passes over the column; any doubt sends the whole column
through the per-cell cleaner, which produces the exact messages. Results are always
the per-cell cleaner's.
"""

from __future__ import annotations

import contextlib
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


def text_many(
    clean: Cleaner, max_length: int | None, checks: list[Callable[[Any], None]]
) -> ManyCleaner:
    slow = _per_cell(clean)
    invisible = converters.INVISIBLE

    def many(cells: list[CellValue]) -> tuple[list[Any], dict[int, Text | str]]:
        if set(map(type, cells)) != {str}:
            return slow(cells)
        values = [cell.strip() for cell in cells]  # type: ignore[union-attr]
        if "" in values or (max_length is not None and max(map(len, values)) > max_length):
            return slow(cells)
        joined = "".join(values)
        if "\x00" in joined or any(char in joined for char in invisible):
            return slow(cells)
        if checks and not _checks_pass(values, checks):
            return slow(cells)
        return values, {}

    return many


def number_many(
    clean: Cleaner, checks: list[Callable[[Any], None]], *, integer: bool
) -> ManyCleaner:
    """Number cells of an Integer/DecimalField: the common all-float column at C speed."""
    slow = _per_cell(clean)

    def many(cells: list[CellValue]) -> tuple[list[Any], dict[int, Text | str]]:
        kinds = set(map(type, cells))
        if kinds == {float}:
            if integer:
                if not all(map(float.is_integer, cells)):  # type: ignore[arg-type]
                    return slow(cells)
                values: list[Any] = list(map(int, cells))  # type: ignore[arg-type]
            else:
                if not all(map(math.isfinite, cells)):  # type: ignore[arg-type]
                    return slow(cells)
                # repr() is the shortest round-tripping text: 0.1 stays Decimal("0.1").
                values = list(map(Decimal, map(repr, cells)))
        elif integer and kinds == {int}:
            values = list(cells)
        else:
            return slow(cells)
        if checks and not _checks_pass(values, checks):
            return slow(cells)
        return values, {}

    return many


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

    def many(cells: list[CellValue]) -> tuple[list[Any], dict[int, Text | str]]:
        if ready and set(map(type, cells)) <= ready and (not checks or _checks_pass(cells, checks)):
            return list(cells), {}
        return slow(cells)

    return many
