"""Employees <-> device users, in chunks, for zk.push_users and zk.pull_users."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, models, transaction

from .mapping import EmployeeMapping
from .records import DeviceUser


@dataclass
class RowProblem:
    ref: str
    message: str
    field: str = ""


@dataclass
class Converted:
    users: list[tuple[str, DeviceUser]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def employee_users(mapping: EmployeeMapping, employees: Iterable[models.Model]) -> Converted:
    """Employees as device users (ref = primary key); the rest as problems."""
    out = Converted()
    for employee in employees:
        ref = str(employee.pk)
        try:
            user = mapping.to_device_user(employee)
        except (TypeError, ValueError) as exc:
            out.problems.append(RowProblem(ref, f"cannot be converted to a device user: {exc}"))
            continue
        if not user.user_id:
            name = mapping.user_id_field
            out.problems.append(RowProblem(ref, f"'{name}' is empty: no device user id", name))
            continue
        out.users.append((ref, user))
    return out


@dataclass
class StoreCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def store_employees(
    mapping: EmployeeMapping, users: Sequence[DeviceUser], *, create: bool
) -> StoreCounts:
    """Upsert ``users`` into the employee model by user id. Call it in a transaction;
    a row the model refuses is reported, the others are still saved."""
    key = mapping.user_id_field
    existing = {
        str(getattr(e, key)): e
        for e in mapping.get_queryset().filter(**{f"{key}__in": [u.user_id for u in users]})
    }
    try:
        with transaction.atomic():
            return _upsert(mapping, users, existing, create, bulk=True)
    except (IntegrityError, ValueError, TypeError):
        pass  # some row does not fit the model: redo row by row to name it
    counts = StoreCounts()
    for user in users:
        current = existing.get(user.user_id)
        fresh = {} if current is None else {user.user_id: _reload(current)}
        try:
            with transaction.atomic():
                one = _upsert(mapping, [user], fresh, create, bulk=False)
        except (IntegrityError, ValueError, TypeError) as exc:
            counts.problems.append(RowProblem(user.user_id, f"cannot be saved: {exc}", key))
            continue
        counts.created += one.created
        counts.updated += one.updated
        counts.unchanged += one.unchanged
    return counts


def _reload(obj: models.Model) -> models.Model:
    # The failed bulk attempt may have changed the object in memory.
    return type(obj)._default_manager.get(pk=obj.pk)


def _upsert(
    mapping: EmployeeMapping,
    users: Sequence[DeviceUser],
    existing: dict[str, models.Model],
    create: bool,
    *,
    bulk: bool,
) -> StoreCounts:
    counts = StoreCounts()
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    changed_fields: set[str] = set()
    for user in users:
        values = mapping.employee_values(user)
        employee = existing.get(user.user_id)
        if employee is None:
            if create:
                to_create.append(mapping.model(**values))
            else:
                counts.unchanged += 1
            continue
        changed = {k for k, v in values.items() if getattr(employee, k) != v}
        if not changed:
            counts.unchanged += 1
            continue
        for name in changed:
            setattr(employee, name, values[name])
        changed_fields |= changed
        to_update.append(employee)
    manager = mapping.model._default_manager
    if bulk:
        manager.bulk_create(to_create)
        if to_update:
            manager.bulk_update(to_update, sorted(changed_fields))
    else:
        for obj in to_create:
            obj.full_clean(validate_unique=False, validate_constraints=False)
            obj.save()
        for obj in to_update:
            obj.save(update_fields=sorted(changed_fields))
    counts.created, counts.updated = len(to_create), len(to_update)
    return counts
