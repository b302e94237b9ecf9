"""Bulk delete with the Django admin's semantics: cascades, and PROTECT/RESTRICT rows kept.

The common chunk is deleted with one ``QuerySet.delete()`` (Django's collector plus
one DELETE per model). Only when that chunk is blocked by ``on_delete=PROTECT`` or
``RESTRICT`` is each row checked on its own, so the blocked rows are reported with
their blockers named and the rest of the chunk is still deleted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import models, router, transaction
from django.db.models import signals
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils.text import capfirst

from bulkops.operations.base import Operation
from bulkops.operations.chunks import chunk_queryset
from bulkops.registry import register

if TYPE_CHECKING:
    from bulkops.context import Batch, RunContext

# How many blocking objects a row error names before "and N more".
NAMED_BLOCKERS = 5


@register
class DeleteOperation(Operation):
    """Delete the selected rows chunk by chunk, with Django's cascade rules."""

    name = "delete"
    label = "Delete"
    requires_queryset = True
    permission = "delete"
    locks_model = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        queryset = ctx.queryset.using(ctx.db)
        model = queryset.model
        manager = model._base_manager.using(ctx.db)
        deleted: Counter[str] = Counter(ctx.checkpoint.get("deleted", {}))
        for batch in ctx.batches(queryset):
            with batch:
                per_model = delete_chunk(manager, batch, chunk_queryset(queryset, batch))
                deleted.update(per_model)
                own = per_model.get(model._meta.label, 0)
                batch.succeeded(own)
                # Rows gone before their chunk ran (deleted elsewhere, or by a cascade).
                batch.skipped(max(len(batch) - own - batch.failed_count, 0))
                batch.state["deleted"] = dict(deleted)
        return {"deleted": dict(deleted)}


def delete_chunk(
    manager: models.Manager[Any], batch: Batch, rows: models.QuerySet[Any] | None = None
) -> dict[str, int]:
    """Delete the batch's rows; blocked rows become row errors on the batch."""
    db = manager.db
    if rows is None:
        rows = manager.filter(pk__in=batch.items)
    model = manager.model
    if not (signals.pre_delete.has_listeners(model) or signals.post_delete.has_listeners(model)):
        # Nobody looks at the deleted instances: load only what the collector needs,
        # as Django's own collector does for related rows.
        rows = rows.only(*_referenced_fields(model))
    try:
        # The collector raises before any DELETE is sent: no savepoint is needed here.
        _, deleted = rows.delete()
        return dict(deleted)
    except (ProtectedError, RestrictedError) as exc:
        first_error = exc
    objects = manager.in_bulk(batch.items)
    # Blockers that point straight at a row of the chunk name that row: no extra queries.
    blocked = _direct_blockers(manager.model, objects, _error_objects(first_error))
    remaining = [pk for pk in batch.items if pk in objects and pk not in blocked]
    per_model: dict[str, int] = {}
    try:
        if remaining:
            with transaction.atomic(using=db):
                _, per_model = manager.filter(pk__in=remaining).delete()
    except (ProtectedError, RestrictedError):
        # Blocked through a cascade (a child's PROTECT): find the rows one by one.
        per_model = _delete_checking_each(manager, batch, remaining, objects)
    for pk, blockers in blocked.items():
        batch.error(describe_blocked(objects[pk], blockers), ref=pk)
    return dict(per_model)


def _referenced_fields(model: type[models.Model]) -> list[str]:
    """The pk and every field a relation to ``model`` points at (``to_field``)."""
    assert model._meta.pk is not None
    names = {model._meta.pk.name}
    for relation in model._meta.related_objects:
        for target in getattr(relation.field, "to_fields", None) or []:
            if target:
                names.add(target)
    return sorted(names)


def _direct_blockers(
    model: type[models.Model], objects: dict[Any, models.Model], blockers: list[models.Model]
) -> dict[Any, list[models.Model]]:
    found: dict[Any, list[models.Model]] = {}
    for blocker in blockers:
        for field in blocker._meta.concrete_fields:
            remote = field.remote_field
            if (
                remote is None
                or not issubclass(model, remote.model)
                or not field.many_to_one
                and not field.one_to_one
            ):
                continue
            if not field.target_field.primary_key:  # type: ignore[attr-defined]
                continue
            value = getattr(blocker, field.attname)
            if value in objects:
                found.setdefault(value, []).append(blocker)
    return found


def _delete_checking_each(
    manager: models.Manager[Any], batch: Batch, pks: list[Any], objects: dict[Any, Any]
) -> dict[str, int]:
    db = manager.db
    deletable: list[Any] = []
    for pk in pks:
        blockers = blocking_objects(objects[pk], using=db)
        if blockers:
            batch.error(describe_blocked(objects[pk], blockers), ref=pk)
        else:
            deletable.append(pk)
    if not deletable:
        return {}
    try:
        with transaction.atomic(using=db):
            _, per_model = manager.filter(pk__in=deletable).delete()
        return dict(per_model)
    except (ProtectedError, RestrictedError):
        # RESTRICT can depend on what else is deleted with the row: go one row at a time.
        return _delete_one_by_one(manager, batch, deletable, objects)


def _delete_one_by_one(
    manager: models.Manager[Any], batch: Batch, pks: list[Any], objects: dict[Any, Any]
) -> dict[str, int]:
    total: Counter[str] = Counter()
    for pk in pks:
        try:
            with transaction.atomic(using=manager.db):
                _, per_model = manager.filter(pk=pk).delete()
            total.update(per_model)
        except (ProtectedError, RestrictedError) as exc:
            blockers = _error_objects(exc)
            batch.error(describe_blocked(objects[pk], blockers), ref=pk)
    return dict(total)


def blocking_objects(obj: models.Model, *, using: str | None = None) -> list[models.Model]:
    """The objects whose PROTECT or RESTRICT foreign keys keep ``obj`` from being deleted."""
    using = using or router.db_for_write(type(obj), instance=obj)
    collector = Collector(using=using, origin=obj)
    try:
        collector.collect([obj])
    except (ProtectedError, RestrictedError) as exc:
        return _error_objects(exc)
    return []


def _error_objects(exc: ProtectedError | RestrictedError) -> list[models.Model]:
    found: Iterable[models.Model] = (
        exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    )
    return sorted(found, key=lambda o: (o._meta.label, str(o.pk)))


def describe_blocked(obj: models.Model, blockers: list[models.Model]) -> str:
    """ "Cannot delete Customer 'Ana' because Order #12, Order #15 refer to it." """
    named = ", ".join(
        f"{capfirst(b._meta.verbose_name)} #{b.pk}" for b in blockers[:NAMED_BLOCKERS]
    )
    more = len(blockers) - NAMED_BLOCKERS
    if more > 0:
        named += f" and {more} more"
    verb = "refers" if len(blockers) == 1 else "refer"
    return f"Cannot delete {capfirst(obj._meta.verbose_name)} '{obj}' because {named} {verb} to it."


def deletion_summary(queryset: models.QuerySet[Any]) -> dict[str, Any]:
    """Counts for a confirmation step: rows per model a delete would remove, and blockers.

    Follows one level of relations with subqueries, so it stays cheap for 100,000 rows;
    deeper cascades are deleted all the same, they are only not counted here.
    """
    model = queryset.model
    pks = queryset.values("pk")
    deleted: list[tuple[str, int]] = [
        (str(capfirst(model._meta.verbose_name_plural)), queryset.count())
    ]
    blocked: list[tuple[str, int]] = []
    for relation in model._meta.related_objects:
        if not relation.one_to_many and not relation.one_to_one:
            continue
        field = relation.field
        on_delete = field.remote_field.on_delete  # type: ignore[attr-defined]
        related = relation.related_model
        if on_delete not in (models.CASCADE, models.PROTECT, models.RESTRICT):
            continue
        count = related._base_manager.filter(**{f"{field.name}__in": pks}).count()
        if not count:
            continue
        name = str(capfirst(related._meta.verbose_name_plural))
        (deleted if on_delete is models.CASCADE else blocked).append((name, count))
    return {"deleted": deleted, "blocked": blocked}
