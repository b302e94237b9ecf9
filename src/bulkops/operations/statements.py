"""SQL for writing one chunk: PostgreSQL COPY + one INSERT, SQLite multi-row VALUES, or the ORM.

PostgreSQL: the chunk is COPYed into a session-local staging table and applied by one
``INSERT … SELECT … ON CONFLICT`` (no statement with thousands of placeholders for
the driver to parse per chunk). SQLite gets a multi-row ``VALUES`` list with the same
``ON CONFLICT``. Other databases go through ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

# Field classes whose cleaned Python value psycopg adapts exactly as Django would.
_NATIVE_ON_POSTGRES: tuple[type[models.Field[Any, Any]], ...] = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.DateField,  # includes DateTimeField: values are aware after cleaning
    models.TimeField,
    models.DecimalField,
    models.FloatField,
    models.UUIDField,
    models.ForeignKey,
)


class ChunkStatement:
    """Build once per import; ``execute(records)`` writes one chunk of value lists."""

    def __init__(
        self,
        model: type[models.Model],
        connection: BaseDatabaseWrapper,
        *,
        insert_fields: Sequence[models.Field[Any, Any]],
        keys: Sequence[models.Field[Any, Any]],
        assign: Sequence[models.Field[Any, Any]],
        upsert: bool,
    ) -> None:
        self.model = model
        self.connection = connection
        self.insert_fields = list(insert_fields)
        self.keys = list(keys)
        self.assign = list(assign)
        self.upsert = upsert and bool(keys)
        quote = connection.ops.quote_name
        self.table = quote(model._meta.db_table)
        self.columns = ", ".join(quote(str(f.column)) for f in self.insert_fields)
        self.conflict = ""
        if self.upsert:
            target = ", ".join(quote(str(f.column)) for f in self.keys)
            sets = ", ".join(
                f"{quote(str(f.column))} = EXCLUDED.{quote(str(f.column))}" for f in self.assign
            )
            action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
            self.conflict = f" ON CONFLICT ({target}) {action}"
        self.vendor = connection.vendor
        self.native = [
            self.vendor == "postgresql" and _native_on_postgres(f) for f in self.insert_fields
        ]
        if self.vendor == "postgresql":
            # A session-local staging table: COPY is the fastest way into PostgreSQL, and
            # one INSERT … SELECT … ON CONFLICT then applies the chunk.
            self.stage = quote(f"bulkops_stage_{model._meta.db_table}"[:63])
            self.create_stage = (
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.stage} ON COMMIT DELETE ROWS AS "
                f"SELECT {self.columns} FROM {self.table} WITH NO DATA"
            )
            self.copy_sql = f"COPY {self.stage} ({self.columns}) FROM STDIN"
            # Rows known to be new skip the staging table: COPY straight into the table.
            self.direct_sql = f"COPY {self.table} ({self.columns}) FROM STDIN"
            self.sql = (
                f"INSERT INTO {self.table} ({self.columns}) "
                f"SELECT {self.columns} FROM {self.stage}{self.conflict}"
            )

    def execute(
        self,
        records: list[list[Any]],
        *,
        new: bool = False,
        while_copying: Callable[[], None] | None = None,
    ) -> None:
        """Write the records; ``new`` ones are appended, and a conflict raises IntegrityError.

        ``while_copying`` runs once the rows are sent, while PostgreSQL is still
        storing them (COPY only); it must not touch the database or raise.
        """
        if self.vendor == "postgresql":
            self._postgres(records, direct=new, while_copying=while_copying)
        elif self.vendor == "sqlite":
            self._values(records, conflict="" if new else self.conflict)
        else:
            self._orm(records, new=new)

    # Strategies ----------------------------------------------------------------------
    def _postgres(
        self,
        records: list[list[Any]],
        *,
        direct: bool,
        while_copying: Callable[[], None] | None,
    ) -> None:
        connection = self.connection
        preps = [
            None if native else f.get_db_prep_save
            for f, native in zip(self.insert_fields, self.native, strict=True)
        ]
        # The raw cursor bypasses Django's wrapper; keep its exception classes.
        with connection.cursor() as cursor, connection.wrap_database_errors:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            if not direct:
                raw.execute(self.create_stage)
                # Rows of an earlier attempt in this transaction (error bisection) must go.
                raw.execute(f"DELETE FROM {self.stage}")
            with raw.copy(self.direct_sql if direct else self.copy_sql) as copy:
                if any(preps):
                    for record in records:
                        copy.write_row(
                            [
                                v if p is None else p(v, connection)
                                for p, v in zip(preps, record, strict=True)
                            ]
                        )
                else:
                    for record in records:
                        copy.write_row(record)
                if while_copying is not None:
                    while_copying()
            if not direct:
                cursor.execute(self.sql)

    def _values(self, records: list[list[Any]], *, conflict: str) -> None:
        connection = self.connection
        prepared = [
            [f.get_db_prep_save(v, connection) for f, v in zip(self.insert_fields, r, strict=True)]
            for r in records
        ]
        width = len(self.insert_fields)
        per_statement = max(1, (connection.features.max_query_params or 999) // width)
        row = "(" + ", ".join(["%s"] * width) + ")"
        with connection.cursor() as cursor:
            for start in range(0, len(prepared), per_statement):
                part = prepared[start : start + per_statement]
                sql = (
                    f"INSERT INTO {self.table} ({self.columns}) VALUES "
                    + ", ".join([row] * len(part))
                    + conflict
                )
                cursor.execute(sql, [v for values in part for v in values])

    def _orm(self, records: list[list[Any]], *, new: bool) -> None:
        objects = [
            self.model(**{f.attname: v for f, v in zip(self.insert_fields, r, strict=True)})
            for r in records
        ]
        manager = self.model._base_manager.using(self.connection.alias)
        if new:
            manager.bulk_create(objects)
        elif self.upsert and self.assign:
            manager.bulk_create(
                objects,
                update_conflicts=True,
                unique_fields=[f.name for f in self.keys],
                update_fields=[f.name for f in self.assign],
            )
        else:
            manager.bulk_create(objects, ignore_conflicts=self.upsert)


def _native_on_postgres(field: models.Field[Any, Any]) -> bool:
    """Whether psycopg takes the cleaned value as it is, with no get_db_prep_save()."""
    if isinstance(field, models.ForeignKey):
        # A foreign key saves what its target field saves (None stays None).
        return type(field).get_db_prep_save is models.ForeignKey.get_db_prep_save and (
            _native_on_postgres(field.target_field)
        )
    return (
        isinstance(field, _NATIVE_ON_POSTGRES)
        and type(field).get_db_prep_save is models.Field.get_db_prep_save
    )


def _array_type(model_field: models.Field[Any, Any], connection: BaseDatabaseWrapper) -> str:
    db_type = model_field.db_type(connection)  # a foreign key answers its target's type
    if db_type is None:
        raise ValueError(f"{model_field} has no column type")
    # "serial"-like types cannot be array element types; their plain counterparts can.
    return {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}.get(
        db_type, db_type
    ) + "[]"


def key_filter(
    model: type[models.Model],
    connection: BaseDatabaseWrapper,
    keys: Sequence[models.Field[Any, Any]],
    values: list[tuple[Any, ...]],
) -> Any:
    """A filter() argument selecting rows whose key is among ``values``, in one short query."""
    from django.db.models import BooleanField, Q
    from django.db.models.expressions import RawSQL

    if connection.vendor != "postgresql":
        return Q(**{f"{f.attname}__in": {v[i] for v in values} for i, f in enumerate(keys)})
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    if len(keys) == 1:
        # "= ANY(array)" uses the unique index; a join against unnest() may not.
        column = f"{table}.{quote(str(keys[0].column))}"
        array = [v[0] for v in values]
        return RawSQL(
            f"{column} = ANY(%s::{_array_type(keys[0], connection)})",
            [array],
            output_field=BooleanField(),
        )
    columns = ", ".join(f"{table}.{quote(str(f.column))}" for f in keys)
    arrays = ", ".join(f"%s::{_array_type(f, connection)}" for f in keys)
    params = [[v[i] for v in values] for i in range(len(keys))]
    sql = f"({columns}) IN (SELECT * FROM unnest({arrays}))"
    return RawSQL(sql, params, output_field=BooleanField())
