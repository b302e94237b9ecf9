"""What the user has selected in a list view, kept in the session across pages.

Two modes. ``ids``: the primary keys ticked one by one or a page at a time.
``all``: every row matching the filter the user was looking at, minus the ones they
unticked afterwards; nothing but the filter's query string is stored, so selecting
100,000 rows costs the same as selecting one. The selection is only ever a request:
the view turns it into a queryset inside its own ``get_queryset()``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.http import QueryDict

from bulkops import texts

# Query-string keys that change the page or the order, not which rows match.
NOT_FILTERS = frozenset({"page", "o", "ordering", "sort", "per_page"})


def filter_key(query: QueryDict, ignore: frozenset[str] = NOT_FILTERS) -> str:
    """The filter part of a query string, normalised: same filter, same key."""
    items = sorted(
        (key, value)
        for key in query
        if key not in ignore and not key.startswith("bulk_")
        for value in query.getlist(key)
        if value != ""
    )
    cleaned = QueryDict(mutable=True)
    for key, value in items:
        cleaned.appendlist(key, value)
    return cleaned.urlencode()


class Selection:
    """The session-backed selection of one view for one user."""

    def __init__(self, session: Any, key: str, filters: str, *, max_ids: int) -> None:
        self.session = session
        self.key = key
        self.filters = filters
        self.max_ids = max_ids
        stored = session.get(key) or {}
        self.mode: str = stored.get("mode", "ids")
        self.ids: set[str] = set(stored.get("ids", []))
        self.all_filters: str = stored.get("filters", "")
        if self.mode == "all" and self.all_filters != filters:
            # "All matching" meant the rows of another filter: start afresh.
            self.mode, self.ids = "ids", set()

    @property
    def all_matching(self) -> bool:
        return self.mode == "all"

    def is_selected(self, pk: Any) -> bool:
        return (str(pk) in self.ids) != self.all_matching

    def set(self, pks: list[str], checked: bool) -> None:
        # In "all" mode ``ids`` holds the rows unticked after selecting all.
        if checked != self.all_matching:
            self.ids.update(pks)
        else:
            self.ids.difference_update(pks)
        if not self.all_matching and len(self.ids) > self.max_ids:
            self.ids = set(sorted(self.ids)[: self.max_ids])
            raise SelectionTooLarge(self.max_ids)

    def select_all(self) -> None:
        self.mode, self.ids, self.all_filters = "all", set(), self.filters

    def clear(self) -> None:
        self.mode, self.ids, self.all_filters = "ids", set(), ""

    def is_empty(self) -> bool:
        return not self.all_matching and not self.ids

    def queryset(
        self, scope: models.QuerySet[Any], filtered: models.QuerySet[Any]
    ) -> models.QuerySet[Any]:
        """The selected rows: always a subset of ``scope`` (the view's get_queryset())."""
        if self.all_matching:
            return filtered.exclude(pk__in=clean_pks(scope.model, self.ids))
        return scope.filter(pk__in=clean_pks(scope.model, self.ids))

    def save(self) -> None:
        self.session[self.key] = {
            "mode": self.mode,
            "ids": sorted(self.ids),
            "filters": self.all_filters,
        }


class SelectionTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(
            str(
                texts.gettext(
                    "At most %(limit)s rows can be ticked one by one; use “Select all matching” "
                    "to act on more.",
                    limit=limit,
                )
            )
        )


def clean_pks(model: type[models.Model], values: Any) -> list[Any]:
    """Posted primary keys converted by the pk field; anything that is not one is dropped.

    "Not one" includes a number the database column cannot hold: 99999999999999999999999
    would raise OverflowError inside the query (a 500) and, kept in the session, break
    the list page on every later visit.
    """
    pk_field = model._meta.pk
    assert pk_field is not None
    low, high = _pk_range(pk_field)
    cleaned = []
    for value in values:
        try:
            pk = pk_field.to_python(value)
        except (ValidationError, ValueError, TypeError, OverflowError):
            continue
        if pk is None:
            continue
        if isinstance(pk, int) and not (
            (low is None or pk >= low) and (high is None or pk <= high)
        ):
            continue
        cleaned.append(pk)
    return cleaned


def invalid_pks(model: type[models.Model], values: list[str]) -> list[str]:
    """The posted values that are not primary keys of ``model`` (for a 400 answer)."""
    return [value for value in values if value and not clean_pks(model, [value])]


def _pk_range(field: Any) -> tuple[int | None, int | None]:
    while getattr(field, "target_field", None) is not None and field.is_relation:
        field = field.target_field
    try:
        return connection.ops.integer_field_range(field.get_internal_type())
    except KeyError:
        return None, None
