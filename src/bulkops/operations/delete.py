"""Bulk delete with the Django admin's semantics: cascades, and PROTECT/RESTRICT rows kept.

A chunk takes the cheapest path that keeps those semantics:

1. When nobody listens for the delete signals of the model or of anything it cascades
   to, and every relation is a plain ``CASCADE``, ``SET_NULL``, ``PROTECT``,
   ``RESTRICT`` or left to the database, the chunk is deleted without loading a row:
   one EXISTS per blocking relation, then one UPDATE or DELETE per related model with
   the chunk as a subquery, then one DELETE of the chunk (:class:`FastDelete`).
2. Otherwise, or when that EXISTS finds a blocker, the chunk goes through Django's
   collector with one ``QuerySet.delete()``, which sends the signals.
3. Only when that is blocked by ``on_delete=PROTECT`` or ``RESTRICT`` is each row
   checked on its own, so the blocked rows are reported with their blockers named and
   the rest of the chunk is still deleted.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connections, models, router, transaction
from django.db.models import Exists, Subquery, signals
from django.db.models.deletion import (
    Collector,
    ProtectedError,
    RestrictedError,
    get_candidate_relations_to_delete,
)
from django.db.models.expressions import BaseExpression, RawSQL
from django.db.models.lookups import Lookup
from django.db.models.sql import Query
from django.db.models.sql.where import WhereNode
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulkops.operations.base import Operation
from bulkops.operations.chunks import chunk_queryset
from bulkops.operations.steps import Confirmation, Step
from bulkops.registry import register

if TYPE_CHECKING:
    from typing import TypeAlias

    from bulkops.context import Batch, RunContext

    ForeignKey: TypeAlias = models.ForeignKey[Any, Any]

try:  # Django 6.1+: DO_NOTHING and the database-level DB_CASCADE, DB_SET_NULL, ...
    from django.db.models.deletion import SKIP_COLLECTION
except ImportError:  # Django 5.2 and 6.0
    SKIP_COLLECTION = frozenset([models.DO_NOTHING])

# How many blocking objects a row error names before "and N more".
NAMED_BLOCKERS = 5


@register
class DeleteOperation(Operation):
    """Delete the selected rows chunk by chunk, with Django's cascade rules."""

    name = "delete"
    label = gettext_lazy("Delete")
    requires_queryset = True
    permission = "delete"
    locks_model = True
    shardable = True

    step_template = "confirm_delete"

    def get_confirmation(self, step: Step) -> Confirmation | None:
        if step.options.get("confirm") is False:
            return None
        summary = deletion_summary(step.queryset)
        return Confirmation(
            counts=summary["deleted"],
            warning=_(
                "Some rows are referred to by protected objects; they will be kept and "
                "listed as row errors:"
            )
            if summary["blocked"]
            else "",
            warning_counts=summary["blocked"],
            button=_("Yes, delete"),
            danger=True,
        )

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
    plan = FastDelete.plan(model)
    if plan is not None:
        fast = plan.delete_rows(rows, db)
        if fast is not None:
            return fast
    if not _has_delete_listeners(model):
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


def _has_delete_listeners(model: type[models.Model]) -> bool:
    return any(
        signal.has_listeners(sender)
        for signal in (signals.pre_delete, signals.post_delete)
        for sender in {model, model._meta.concrete_model}
    )


@dataclass
class FastDelete:
    """How to delete rows of one model, and what they cascade to, without loading them.

    Built by :meth:`plan` from the model's relations; ``None`` from it means Django's
    collector is needed (signal listeners, multi-table parents, generic relations,
    custom ``on_delete`` handlers, a cascade cycle).
    """

    model: type[models.Model]
    # PROTECT and RESTRICT foreign keys pointing at ``model``: any match blocks.
    blockers: list[ForeignKey] = dataclasses.field(default_factory=list)
    # SET_NULL foreign keys pointing at ``model``: set to NULL first.
    nulls: list[ForeignKey] = dataclasses.field(default_factory=list)
    # CASCADE foreign keys pointing at ``model``, with the plan for their rows.
    cascades: list[tuple[ForeignKey, FastDelete]] = dataclasses.field(default_factory=list)

    @classmethod
    def plan(
        cls,
        model: type[models.Model],
        via: ForeignKey | None = None,
        seen: frozenset[type[models.Model]] = frozenset(),
    ) -> FastDelete | None:
        opts = model._meta
        concrete = opts.concrete_model or model
        if (
            concrete in seen
            or _has_delete_listeners(model)
            or opts.pk is None
            or not opts.pk.concrete
            # A multi-table child also deletes its parent rows; only the link we came
            # through (a parent cascading to its child) is allowed.
            or any(link is not via for link in concrete._meta.parents.values())
            or any(hasattr(f, "bulk_related_objects") for f in opts.private_fields)
        ):
            return None
        plan = cls(model)
        relations: Iterable[Any] = get_candidate_relations_to_delete(opts)
        for relation in relations:
            fk = relation.field
            on_delete = fk.remote_field.on_delete
            if on_delete in SKIP_COLLECTION:  # DO_NOTHING, or the database's own ON DELETE
                continue
            if fk.remote_field.model._meta.concrete_model is not concrete:
                # Inherited from a parent: the parent's plan already covers these rows.
                continue
            if not isinstance(fk, models.ForeignKey):
                return None
            if on_delete is models.CASCADE:
                child = cls.plan(relation.related_model, via=fk, seen=seen | {concrete})
                if child is None:
                    return None
                plan.cascades.append((fk, child))
            elif on_delete in (models.PROTECT, models.RESTRICT):
                plan.blockers.append(fk)
            elif on_delete is models.SET_NULL:
                plan.nulls.append(fk)
            else:  # SET_DEFAULT, SET(...), a project's own handler: let Django run it.
                return None
        return plan

    @staticmethod
    def _pointing_at(fk: ForeignKey, rows: models.QuerySet[Any], db: str) -> models.QuerySet[Any]:
        """The rows of ``fk``'s model that point at ``rows``, as a queryset over a subquery."""
        targets = rows.values(fk.target_field.attname)
        return fk.model._base_manager.using(db).filter(**{f"{fk.attname}__in": targets})

    def delete_rows(self, rows: models.QuerySet[Any], db: str) -> dict[str, int] | None:
        """Delete ``rows``, or do nothing and return ``None`` when a row is blocked.

        A selection that reads only its own table's columns is used as it is, as a
        subquery. One that joins or looks into other tables ("customers with a visit")
        is read into a pk list first, because the statements below change those tables
        (the visits are set to NULL before the customers go).
        """
        if self._stable(rows):
            if self.blocked(rows, db):
                return None
            return self.delete(rows, db)
        pks = list(rows.values_list("pk", flat=True))
        base = self.model._base_manager.using(db)
        size = max(connections[db].ops.bulk_batch_size(["pk"], pks), 1)
        pieces = [base.filter(pk__in=pks[i : i + size]) for i in range(0, len(pks), size)]
        if any(self.blocked(piece, db) for piece in pieces):
            return None
        counts: Counter[str] = Counter()
        for piece in pieces:
            self.delete(piece, db, counts)
        return dict(counts)

    def _stable(self, rows: models.QuerySet[Any]) -> bool:
        """Whether the statements of this plan cannot change which rows ``rows`` matches."""
        query = rows.query
        if len(query.alias_map) > 1 or query.annotations or query.combinator:
            return False
        concrete = self.model._meta.concrete_model
        if any(fk.model._meta.concrete_model is concrete for fk in self.nulls):
            return False  # a SET_NULL from the model to itself changes its own rows
        return not _reads_elsewhere(query.where)

    def blocked(self, rows: models.QuerySet[Any], db: str) -> bool:
        """Whether a PROTECT or RESTRICT row points at ``rows`` or at what they cascade to.

        RESTRICT may still allow the delete (when the restricting row goes too, through
        another cascade); the collector path decides that case.
        """
        if any(self._pointing_at(fk, rows, db).exists() for fk in self.blockers):
            return True
        return any(
            child.blocked(self._pointing_at(fk, rows, db), db) for fk, child in self.cascades
        )

    def delete(
        self, rows: models.QuerySet[Any], db: str, counts: Counter[str] | None = None
    ) -> dict[str, int]:
        """Delete ``rows`` and their cascades, children first; rows deleted per model."""
        counts = Counter() if counts is None else counts
        for fk in self.nulls:
            self._pointing_at(fk, rows, db).update(**{fk.name: None})
        for fk, child in self.cascades:
            child.delete(self._pointing_at(fk, rows, db), db, counts)
        # What the collector itself uses for its fast deletes: one DELETE ... WHERE.
        deleted = rows._raw_delete(db)  # type: ignore[attr-defined]
        if deleted:
            counts[self.model._meta.label] += deleted
        return dict(counts)


def _reads_elsewhere(node: Any) -> bool:
    """Whether a WHERE tree holds a subquery or raw SQL, which may read other tables."""
    if isinstance(node, (Query, Subquery, Exists, RawSQL)):
        return True
    if isinstance(node, WhereNode):
        children: Iterable[Any] = node.children
    elif isinstance(node, Lookup):  # ``pk__in=<queryset>`` keeps a Query as its rhs
        children = (node.lhs, node.rhs)
    elif isinstance(node, BaseExpression):
        children = node.get_source_expressions()
    elif isinstance(node, (list, tuple)):
        children = node
    else:
        return False
    return any(_reads_elsewhere(child) for child in children)


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
