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
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils.text import capfirst

from bulkops.operations.base import Operation
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
        model = ctx.queryset.model
        manager = model._base_manager.using(ctx.db)
        deleted: Counter[str] = Counter(ctx.checkpoint.get("deleted", {}))
        for batch in ctx.batches(ctx.queryset):
            with batch:
                per_model = delete_chunk(manager, batch)
                deleted.update(per_model)
                own = per_model.get(model._meta.label, 0)
                batch.succeeded(own)
                # Rows gone before their chunk ran (deleted elsewhere, or by a cascade).
                batch.skipped(max(len(batch) - own - batch.failed_count, 0))
                batch.state["deleted"] = dict(deleted)
        return {"deleted": dict(deleted)}


def delete_chunk(manager: models.Manager[Any], batch: Batch) -> dict[str, int]:
    """Delete the batch's rows; blocked rows become row errors on the batch."""
    db = manager.db
    try:
        with transaction.atomic(using=db):
            _, per_model = manager.filter(pk__in=batch.items).delete()
        return dict(per_model)
    except (ProtectedError, RestrictedError):
        pass
    deletable: list[Any] = []
    objects = manager.in_bulk(batch.items)
    for pk in batch.items:
        obj = objects.get(pk)
        if obj is None:
            continue
        blockers = blocking_objects(obj, using=db)
        if blockers:
            batch.error(describe_blocked(obj, blockers), ref=obj.pk)
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
