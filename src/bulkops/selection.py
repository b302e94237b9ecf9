"""A task's selection (the rows it works on), stored so that it survives upgrades.

Django does not promise that a pickled ``Query`` loads on another Django version, or
after the model changed. So a selection is stored, whenever it can be, as JSON: the
tree of ``field__lookup=value`` filters, with a format version. Any lookups on the
model's own columns with plain values (what list views and django-filter produce)
qualify; the rebuilt queryset must compile to exactly the same SQL as the original, or
the JSON form is not used.

Anything else (joins, subqueries, annotations, expressions) falls back to the pickle,
stamped with the Django feature version that wrote it. Reading a pickle written by
another feature version, or one that no longer loads, raises ``SelectionUnavailable``
with the message documented in docs/upgrading.md instead of failing in an undefined way.
"""

from __future__ import annotations

import datetime
import decimal
import pickle
import uuid
from typing import TYPE_CHECKING, Any

import django
from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.where import WhereNode

from bulkops.exceptions import SelectionUnavailable

if TYPE_CHECKING:
    from bulkops.models import BulkTask

#: Bumped when the JSON form changes; a reader refuses versions it does not know.
FORMAT_VERSION = 1


class _Unsupported(Exception):
    """The queryset has a part the JSON form cannot describe."""


def django_feature_version() -> str:
    return "{}.{}".format(*django.VERSION[:2])


def dump(queryset: models.QuerySet[Any]) -> tuple[dict[str, Any], bytes | None]:
    """``(selection, pickled_query)`` for a task: the JSON form, or the stamped pickle."""
    stamp = {"version": FORMAT_VERSION, "django": django_feature_version()}
    try:
        filters, order = _describe(queryset)
    except _Unsupported:
        return {**stamp, "form": "pickle"}, pickle.dumps(queryset.query)
    return {**stamp, "form": "filters", "filters": filters, "order": order}, None


def load(task: BulkTask) -> models.QuerySet[Any] | None:
    """The task's rows as a queryset, re-evaluated now; ``None`` for a job without rows."""
    model = task.model_class
    if model is None:
        return None
    queryset = model._default_manager.all()
    selection = task.selection or {}
    if selection.get("form") == "filters":
        queryset.query = _rebuild(task, model, selection).query
    elif task.query:
        queryset.query = _unpickle(task, model, selection)
    return queryset


# Writing


def _describe(queryset: models.QuerySet[Any]) -> tuple[dict[str, Any], list[str]]:
    query = queryset.query
    if (
        # A join Django trimmed (``customer=1`` on an FK) stays in alias_map, unused.
        sum(1 for alias in query.alias_map if query.alias_refcount[alias]) > 1
        or query.annotations
        or query.combinator
        or query.is_sliced
        or query.distinct
        or query.extra
        or query.values_select
        or queryset._fields is not None  # type: ignore[attr-defined]
        or not all(isinstance(name, str) for name in query.order_by)
    ):
        raise _Unsupported
    model = queryset.model
    filters = _node(query.where, model)
    order = [str(name) for name in query.order_by]
    rebuilt = _queryset(model, filters, order)
    # The proof that nothing was lost: both compile to the same SQL with the same values.
    original_sql = query.get_compiler(using=queryset.db).as_sql()
    if rebuilt.query.get_compiler(using=queryset.db).as_sql() != original_sql:
        raise _Unsupported
    return filters, order


def _node(node: Any, model: type[models.Model]) -> dict[str, Any]:
    if isinstance(node, WhereNode):
        return {
            "connector": node.connector,
            "negated": node.negated,
            "children": [_node(child, model) for child in node.children],
        }
    if not isinstance(node, Lookup) or not isinstance(node.lhs, Col):
        raise _Unsupported
    field = node.lhs.target
    if field.model._meta.concrete_model is not model._meta.concrete_model:
        raise _Unsupported
    return {"field": field.name, "lookup": node.lookup_name, "value": _encode(node.rhs)}


_TAGS: dict[type, str] = {
    decimal.Decimal: "decimal",
    datetime.datetime: "datetime",
    datetime.date: "date",
    datetime.time: "time",
    uuid.UUID: "uuid",
}


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return {"$": "list", "v": [_encode(item) for item in value]}
    tag = _TAGS.get(type(value))
    if tag is None:
        raise _Unsupported
    return {"$": tag, "v": value.isoformat() if hasattr(value, "isoformat") else str(value)}


# Reading


_DECODERS: dict[str, Any] = {
    "decimal": decimal.Decimal,
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "uuid": uuid.UUID,
}


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if value["$"] == "list":
        return [_decode(item) for item in value["v"]]
    return _DECODERS[value["$"]](value["v"])


def _q(node: dict[str, Any]) -> Q:
    if "children" in node:
        return Q(
            *(_q(child) for child in node["children"]),
            _connector=node["connector"],
            _negated=node["negated"],
        )
    return Q(**{f"{node['field']}__{node['lookup']}": _decode(node["value"])})


def _queryset(
    model: type[models.Model], filters: dict[str, Any], order: list[str]
) -> models.QuerySet[Any]:
    queryset: models.QuerySet[Any] = models.QuerySet(model=model).filter(_q(filters))
    return queryset.order_by(*order) if order else queryset


def _rebuild(
    task: BulkTask, model: type[models.Model], selection: dict[str, Any]
) -> models.QuerySet[Any]:
    if selection.get("version") != FORMAT_VERSION:
        raise SelectionUnavailable(_message(task, f"format {selection.get('version')!r}"))
    try:
        return _queryset(model, selection["filters"], selection.get("order") or [])
    except (FieldDoesNotExist, FieldError, ValidationError, KeyError, TypeError, ValueError) as exc:
        # A field that was renamed or removed since the task was submitted.
        raise SelectionUnavailable(_message(task, f"a model change ({exc})")) from exc


def _unpickle(task: BulkTask, model: type[models.Model], selection: dict[str, Any]) -> Any:
    written_by = selection.get("django")
    if written_by and written_by != django_feature_version():
        raise SelectionUnavailable(_message(task, f"Django {written_by}"))
    try:
        query = pickle.loads(bytes(task.query or b""))  # noqa: S301 - written by the server only
    except Exception as exc:
        raise SelectionUnavailable(_message(task, "an earlier version")) from exc
    if getattr(query, "model", None) is not model:
        raise SelectionUnavailable(_message(task, "another model"))
    return query


def _message(task: BulkTask, written_by: str) -> str:
    # The wording is documented in docs/upgrading.md ("Tasks that were pending").
    return (
        f"This task's selection of rows was saved by {written_by} and cannot be read by "
        f"this version (Django {django_feature_version()}). Rows already processed stay "
        "processed; select the rows again and submit a new job to finish the work."
    )
