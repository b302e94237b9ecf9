"""The rows of one batch as a queryset the database can use cheaply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from bulkops.context import Batch


def chunk_queryset(queryset: models.QuerySet[Any], batch: Batch) -> models.QuerySet[Any]:
    """The selected rows whose pk lies in the batch's range.

    Batches walk the selection in pk order, so "the selection between the pk before the
    batch and its last pk" is the batch: one short WHERE instead of an IN list with a
    thousand parameters to build, send and plan for every chunk, and no need to read
    the chunk's pks at all. Querysets that cannot be filtered again (sliced, DISTINCT,
    unions, values()) fall back to the pk list.
    """
    if batch.keys is None:
        return queryset.model._base_manager.using(queryset.db).filter(pk__in=batch.items)
    return batch.keys.within(queryset)
