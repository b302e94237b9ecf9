"""Insert many attendance rows fast, skipping those already stored.

``bulk_create`` spends most of its time building model instances and preparing each
value through its field; for 50,000 punches that doubled the time of a download.
The rows here have simple, known types, so they are adapted once and inserted as
multi-row INSERTs with the backend's own "ignore conflicts" syntax (ON CONFLICT DO
NOTHING, INSERT OR IGNORE, INSERT IGNORE). On PostgreSQL with psycopg 3 the rows
are streamed with COPY into a temporary table first, which is several times faster
than any INSERT with parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connections, models, router
from django.db.models.constants import OnConflict

from .records import DeviceTemplate


def insert_ignoring_conflicts(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    constants: dict[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (values for ``fields``), each completed by ``constants``."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    ops = connection.ops
    meta = model._meta
    constants = constants or {}
    columns = [meta.get_field(name) for name in (*fields, *constants)]
    adapt = [
        ops.adapt_datetimefield_value if isinstance(f, models.DateTimeField) else None
        for f in columns[: len(fields)]
    ]
    fixed = [
        ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v
        for v in constants.values()
    ]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if hasattr(cursor.cursor, "copy"):  # psycopg 3
                _copy_then_insert(cursor, meta.db_table, columns, len(fields), rows, constants)
                return
    table = ops.quote_name(meta.db_table)
    names = ", ".join(ops.quote_name(f.column) for f in columns)  # type: ignore[union-attr,arg-type]
    head = f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {table} ({names}) VALUES "
    tail = ops.on_conflict_suffix_sql(columns, OnConflict.IGNORE, None, None) or ""
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    batch = max(1, min(ops.bulk_batch_size(columns, rows), 1000))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            params: list[Any] = []
            for row in part:
                params.extend(
                    a(v) if a is not None and isinstance(v, datetime) else v
                    for a, v in zip(adapt, row, strict=True)
                )
                params.extend(fixed)
            cursor.execute(head + ", ".join([one] * len(part)) + tail, params)


def _copy_then_insert(
    cursor: Any,
    table: str,
    columns: Sequence[Any],
    varying: int,
    rows: Sequence[Sequence[Any]],
    constants: dict[str, Any],
) -> None:
    quote = cursor.db.ops.quote_name
    staging = quote("bulkops_zk_incoming")
    names = [quote(f.column) for f in columns]
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
        "(c0 text, c1 timestamptz, c2 integer, c3 integer) ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"DELETE FROM {staging}")  # in case of a second call in one transaction
    if varying != 4:  # pragma: no cover - the staging table has the attendance shape
        raise ValueError("COPY staging expects user_id, timestamp, punch, status")
    with cursor.cursor.copy(f"COPY {staging} (c0, c1, c2, c3) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    selected = ", ".join([f"c{i}" for i in range(varying)] + ["%s"] * len(constants))
    cursor.execute(
        f"INSERT INTO {quote(table)} ({', '.join(names)}) SELECT {selected} FROM {staging} "
        "ON CONFLICT DO NOTHING",
        list(constants.values()),
    )


def store_templates(serial: str, by_user: dict[str, list[DeviceTemplate]]) -> tuple[int, int]:
    """Make the stored fingers of these users what a device holds: (changed, unchanged).
    Fingers stored for them that the device does not hold are kept: another clock may
    have enrolled them."""
    from .models import FingerTemplate

    stored = {
        (t.user_id, t.finger): (bytes(t.template), t.valid)
        for t in FingerTemplate._default_manager.filter(user_id__in=list(by_user))
    }
    rows = [
        FingerTemplate(
            user_id=user_id,
            finger=t.finger,
            template=t.template,
            valid=t.valid,
            device_serial=serial,
        )
        for user_id, templates in by_user.items()
        for t in templates
        if stored.get((user_id, t.finger)) != (t.template, t.valid)
    ]
    FingerTemplate._default_manager.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["user_id", "finger"],
        update_fields=["template", "valid", "device_serial", "updated_at"],
    )
    return len(rows), sum(map(len, by_user.values())) - len(rows)


def stored_templates(user_ids: Iterable[str]) -> dict[str, list[DeviceTemplate]]:
    """The stored fingers of these users (uid 0: the device slot is not known here)."""
    from .models import FingerTemplate

    found: dict[str, list[DeviceTemplate]] = {}
    for t in FingerTemplate._default_manager.filter(user_id__in=list(user_ids)).order_by("finger"):
        found.setdefault(t.user_id, []).append(
            DeviceTemplate(0, t.finger, bytes(t.template), t.valid)
        )
    return found
