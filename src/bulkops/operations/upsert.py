"""Write one chunk of cleaned rows: one SELECT for the existing keys, one INSERT statement.

On PostgreSQL and SQLite the chunk is written as a single
``INSERT … ON CONFLICT (key) DO UPDATE`` built here from prepared values (no model
instances, no per-row query); other databases go through ``bulk_create``.
Unchanged rows are not written at all and count as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import DatabaseError, IntegrityError, connections, models, transaction
from django.utils import timezone

from bulkops import texts
from bulkops.operations.seen import SeenValues, encode
from bulkops.operations.statements import ChunkStatement, key_filter
from bulkops.tabular.definition import CleanRow

Mode = Literal["create", "update", "upsert"]


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[tuple[CleanRow, texts.Text | str]] = field(default_factory=list)


def unique_key_problem(
    model: type[models.Model], key_fields: Sequence[str]
) -> texts.Text | str | None:
    """Why ``key_fields`` cannot identify rows (no unique constraint), or None."""
    opts = model._meta
    names = set(key_fields)
    if not names:
        return texts.gettext("Choose the column(s) that identify existing rows.")
    try:
        fields = [opts.get_field(name) for name in key_fields]
    except Exception as exc:
        return str(exc)
    if len(fields) == 1 and (
        getattr(fields[0], "unique", False) or getattr(fields[0], "primary_key", False)
    ):
        return None
    for together in opts.unique_together:
        if set(together) == names:
            return None
    for constraint in opts.total_unique_constraints:
        if set(constraint.fields) == names:
            return None
    shown = ", ".join(str(getattr(f, "verbose_name", f.name)) for f in fields)
    return texts.gettext(
        "%(fields)s must be unique in %(models)s (a unique field or constraint) to update "
        "rows by it.",
        fields=shown,
        models=texts.label(opts.verbose_name_plural),
    )


class ChunkWriter:
    """Applies chunks for one import; call inside the chunk's transaction."""

    def __init__(
        self,
        model: type[models.Model],
        *,
        mode: Mode,
        key_fields: Sequence[str],
        file_fields: Sequence[str],
        using: str = "default",
    ) -> None:
        opts = model._meta
        self.model = model
        self.mode = mode
        self.using = using
        self.connection = connections[using]
        self.keys = [opts.get_field(name) for name in key_fields]
        self.key_attnames = [f.attname for f in self.keys]  # type: ignore[union-attr]
        file_names = set(file_fields)
        concrete = [
            f
            for f in opts.concrete_fields
            if not (f.primary_key and isinstance(f, models.AutoField))
        ]
        self.touch = [f for f in concrete if getattr(f, "auto_now", False)]
        self.update_fields = [
            f for f in concrete if f.name in file_names and f.attname not in self.key_attnames
        ]
        # A db_default column the file does not fill is left to the database.
        self.insert_fields = [
            f
            for f in concrete
            if f.name in file_names or not (f.has_db_default() and not f.has_default())
        ]
        self.compare = [f.attname for f in self.update_fields]
        # Unique sets other than the key that the file fills entirely: a value repeated
        # in the file would clash in the database, so it is refused by value, up front,
        # the same way in a dry run (which writes nothing that stays) and in the import.
        self.unique_sets = _other_unique_sets(model, file_names, set(key_fields))
        self.seen = SeenValues()
        self.optimistic = True
        self._while_copying: Callable[[], None] | None = None
        self.positions = {f.attname: i for i, f in enumerate(self.insert_fields)}
        assign = [*self.update_fields, *(t for t in self.touch if t not in self.update_fields)]
        self.statement = ChunkStatement(
            model,
            self.connection,
            insert_fields=self.insert_fields,
            keys=self.keys,  # type: ignore[arg-type]
            assign=assign,
            upsert=mode != "create",
        )

    # Public --------------------------------------------------------------------------
    def write(
        self, rows: list[CleanRow], *, while_copying: Callable[[], None] | None = None
    ) -> WriteResult:
        """Apply one chunk; ``while_copying`` runs once, during the first COPY, if any."""
        self._while_copying = while_copying
        result = WriteResult()
        keyed = self._drop_duplicates(rows, result)
        if self.optimistic and self.keys and self.mode != "update" and keyed:
            # Files of new rows are the common case: append the chunk and let the unique
            # key refuse it if any row exists. Once one chunk is refused, every later
            # chunk looks its keys up first.
            records = self._new_values([row.data for row, _ in keyed], timezone.now())
            try:
                with transaction.atomic(using=self.using):
                    self.statement.execute(records, new=True, while_copying=self._take_callback())
            except (IntegrityError, DatabaseError):
                self.optimistic = False
            else:
                result.created = len(keyed)
                return result
        existing = self._existing([key for _, key in keyed]) if self.keys else {}
        creates: list[CleanRow] = []
        updates: list[tuple[CleanRow, tuple[Any, ...]]] = []
        for row, key in keyed:
            found = existing.get(key) if existing else None
            if found is None:
                if self.mode == "update":
                    result.errors.append((row, self._not_found(row)))
                else:
                    creates.append(row)
            elif self.mode == "create":
                result.errors.append((row, self._already_exists(row)))
            elif self._unchanged(row, found):
                result.skipped += 1
            else:
                updates.append((row, found))
        now = timezone.now()
        failed = self._execute(
            creates, self._new_values([r.data for r in creates], now), result, new=True
        )
        records = [self._insert_values(row.data, found, now) for row, found in updates]
        failed |= self._execute([row for row, _ in updates], records, result, new=False)
        result.created = sum(1 for row in creates if row.row not in failed)
        result.updated = sum(1 for row, _ in updates if row.row not in failed)
        return result

    def _new_values(self, rows: list[dict[str, Any]], now: Any) -> list[list[Any]]:
        """Insert values of new rows: the file's value, else the field's default."""
        fallbacks = []
        for model_field in self.insert_fields:
            if getattr(model_field, "auto_now", False) or getattr(
                model_field, "auto_now_add", False
            ):
                fallbacks.append((False, now))
            elif model_field.has_default():
                # Callable defaults (uuid4, now) run per row, like Model() would.
                fallbacks.append((callable(model_field.default), model_field.get_default()))
            else:
                fallbacks.append(
                    (
                        False,
                        None if model_field.null or not model_field.empty_strings_allowed else "",
                    )
                )
        plan = [
            (f.attname, per_row, value, f.get_default)
            for f, (per_row, value) in zip(self.insert_fields, fallbacks, strict=True)
        ]
        records = []
        for data in rows:
            records.append(
                [
                    data[name] if name in data else (get_default() if per_row else value)
                    for name, per_row, value, get_default in plan
                ]
            )
        return records

    def _take_callback(self) -> Callable[[], None] | None:
        callback, self._while_copying = self._while_copying, None
        return callback

    # Classification ------------------------------------------------------------------
    def _key(self, row: CleanRow) -> tuple[Any, ...]:
        return tuple(row.data.get(name) for name in self.key_attnames)

    def _key_text(self, row: CleanRow) -> str:
        return _values_text(self.keys, row.data)

    def _not_found(self, row: CleanRow) -> texts.Text:
        return texts.gettext(
            "No %(model)s with %(key)s exists to update.",
            model=texts.label(self.model._meta.verbose_name),
            key=self._key_text(row),
        )

    def _already_exists(self, row: CleanRow) -> texts.Text:
        return texts.gettext(
            "A %(model)s with %(key)s already exists.",
            model=texts.label(self.model._meta.verbose_name),
            key=self._key_text(row),
        )

    def _drop_duplicates(
        self, rows: list[CleanRow], result: WriteResult
    ) -> list[tuple[CleanRow, tuple[Any, ...]]]:
        names = self.key_attnames
        if not names:
            return self._drop_repeated_unique([(row, ()) for row in rows], result)
        single = names[0] if len(names) == 1 else None
        keyed = []
        for row in rows:
            data = row.data
            # One key column is the usual case: skip building a list per row.
            key = (data.get(single),) if single else tuple([data.get(n) for n in names])
            if None in key:
                result.errors.append(
                    (
                        row,
                        texts.gettext(
                            "%(key)s: a value is needed to match rows.", key=self._key_text(row)
                        ),
                    )
                )
                continue
            keyed.append((row, key))
        # Compared by exact value, never by hash(): see bulkops.operations.seen.
        repeated = self.seen.check_and_add(0, [encode(key) for _, key in keyed])
        kept = []
        for (row, key), earlier in zip(keyed, repeated, strict=True):
            if earlier:
                result.errors.append(
                    (
                        row,
                        texts.gettext(
                            "An earlier row of this file has the same %(key)s.",
                            key=self._key_text(row),
                        ),
                    )
                )
            else:
                kept.append((row, key))
        return self._drop_repeated_unique(kept, result)

    def _drop_repeated_unique(
        self, kept: list[tuple[CleanRow, tuple[Any, ...]]], result: WriteResult
    ) -> list[tuple[CleanRow, tuple[Any, ...]]]:
        for group, fields in enumerate(self.unique_sets, start=1):
            attnames = [f.attname for f in fields]
            checked = []
            values = []
            for item in kept:
                value = tuple(item[0].data.get(n) for n in attnames)
                if None not in value:  # NULLs never clash in a unique constraint
                    checked.append(item)
                    values.append(encode(value))
            repeated = self.seen.check_and_add(group, values)
            refused = set()
            for (row, _), earlier in zip(checked, repeated, strict=True):
                if earlier:
                    text = _values_text(fields, row.data)
                    result.errors.append(
                        (
                            row,
                            texts.gettext(
                                "An earlier row of this file has the same %(key)s.", key=text
                            ),
                        )
                    )
                    refused.add(row.row)
            if refused:
                kept = [item for item in kept if item[0].row not in refused]
        return kept

    def classify(self, rows: list[CleanRow]) -> list[tuple[str, list[str]]]:
        """What writing each row would do now: ("new" | "changed" | "unchanged", fields).

        For the preview's markers; writes nothing and remembers nothing. The changed
        fields are model field names.
        """
        if not self.keys or self.mode == "create":
            return [("new", []) for _ in rows]
        keys = [self._key(row) for row in rows]
        existing = self._existing([k for k in keys if None not in k])
        marks: list[tuple[str, list[str]]] = []
        for row, key in zip(rows, keys, strict=True):
            found = existing.get(key)
            if found is None:
                marks.append(("new", []))
                continue
            changed = [
                f.name
                for f in self.update_fields
                if f.attname in row.data and row.data[f.attname] != found[self.positions[f.attname]]
            ]
            marks.append(("changed" if changed else "unchanged", changed))
        return marks

    @property
    def remembers(self) -> bool:
        """Whether rows before a resume matter: only for repeats of keys or unique values."""
        return bool(self.key_attnames or self.unique_sets)

    def remember(self, rows: list[CleanRow]) -> None:
        """Note rows written before a resume, so a later repeat is still refused."""
        self._drop_duplicates(rows, WriteResult())

    def close(self) -> None:
        self.seen.close()

    def _existing(self, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        if not keys:
            return {}
        manager = self.model._base_manager.using(self.using)
        condition = key_filter(self.model, self.connection, self.keys, keys)  # type: ignore[arg-type]
        columns = [f.attname for f in self.insert_fields]
        found: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        width = len(self.key_attnames)
        for values in manager.filter(condition).values_list(*self.key_attnames, *columns):
            found[tuple(values[:width])] = values[width:]
        return found

    def _unchanged(self, row: CleanRow, found: tuple[Any, ...]) -> bool:
        data, positions = row.data, self.positions
        return all(
            name not in data or data[name] == found[positions[name]] for name in self.compare
        )

    # Values --------------------------------------------------------------------------
    def _insert_values(
        self, data: dict[str, Any], found: tuple[Any, ...] | None, now: Any
    ) -> list[Any]:
        values = []
        for index, model_field in enumerate(self.insert_fields):
            name = model_field.attname
            if name in data:
                value = data[name]
            elif found is not None:
                value = found[index]  # keep what the row holds (empty cell, column absent)
            elif getattr(model_field, "auto_now", False) or getattr(
                model_field, "auto_now_add", False
            ):
                value = now
            elif model_field.has_default():
                value = model_field.get_default()
            else:
                value = (
                    None
                    if model_field.null
                    else ("" if model_field.empty_strings_allowed else None)
                )
            if found is not None and getattr(model_field, "auto_now", False):
                value = now
            values.append(value)
        return values

    # Statements ----------------------------------------------------------------------
    def _execute(
        self, rows: list[CleanRow], records: list[list[Any]], result: WriteResult, *, new: bool
    ) -> set[int]:
        """Write all records; on a database error, isolate the failing rows by bisection.

        ``new`` rows were absent at the pre-SELECT and may be appended without conflict
        handling; if another process created one meanwhile, the chunk is retried as an
        upsert before any row is blamed.
        """
        if not records:
            return set()
        try:
            with transaction.atomic(using=self.using):
                self.statement.execute(records, new=new, while_copying=self._take_callback())
            return set()
        except (IntegrityError, DatabaseError) as exc:
            if new and self.mode == "upsert":
                return self._execute(rows, records, result, new=False)
            if len(records) == 1:
                result.errors.append((rows[0], _db_message(exc)))
                return {rows[0].row}
        middle = len(records) // 2
        return self._execute(rows[:middle], records[:middle], result, new=new) | self._execute(
            rows[middle:], records[middle:], result, new=new
        )


def _values_text(fields: Sequence[Any], data: dict[str, Any]) -> str:
    return ", ".join(
        f'{getattr(f, "verbose_name", f.name)} "{data.get(getattr(f, "attname", f.name))}"'
        for f in fields
    )


def _other_unique_sets(
    model: type[models.Model], file_names: set[str], key_names: set[str]
) -> list[list[models.Field[Any, Any]]]:
    opts = model._meta
    sets: list[tuple[str, ...]] = [
        (f.name,) for f in opts.concrete_fields if f.unique and not f.primary_key
    ]
    sets += [tuple(together) for together in opts.unique_together]
    sets += [tuple(c.fields) for c in opts.total_unique_constraints]
    chosen: list[list[models.Field[Any, Any]]] = []
    for names in dict.fromkeys(sets):
        if set(names) != key_names and set(names) <= file_names:
            chosen.append([opts.get_field(name) for name in names])  # type: ignore[misc]
    return chosen


def _db_message(exc: Exception) -> texts.Text:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return texts.gettext("The database refused this row: %(error)s", error=text)
