"""One task split into shards that several workers run at once (docs/sharding.md).

A shard is an ordinary ``BulkTask`` (``shard_of`` = the parent) over one range of the
parent's input: a primary-key range of its selection (``params["shard"]["pk"]``) or a
row range of its stored upload (``params["shard"]["rows"]``). It is claimed, fenced,
checkpointed and resumed by the same runner as any task, so each shard keeps every
guarantee of a single-worker job. The parent's run only plans and hands out the shards;
the last shard to end settles the parent (``lifecycle.settle``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import models

from bulkops import lifecycle, texts
from bulkops.backends import get_backend
from bulkops.conf import settings
from bulkops.models import BulkTask

if TYPE_CHECKING:
    from bulkops.operations.base import Operation

logger = logging.getLogger("bulkops")


def shard_count(total: int | None) -> int:
    """How many shards a job of ``total`` rows gets: 0 or 1 means it is not split."""
    if not settings.SHARDING or not total:
        return 0
    per_shard = max(int(settings.SHARD_MIN_ROWS), 1)
    return min(int(settings.SHARDS), total // per_shard)


def applies(task: BulkTask, operation: Operation) -> bool:
    """Whether the run of ``task`` plans or resumes shards (no query: flags and settings)."""
    if task.shard_count:
        return True
    return (
        operation.shardable
        and task.shard_of_id is None
        and not task.params.get("shard")
        and shard_count(task.total) >= 2
    )


def dispatch(task: BulkTask, operation: Operation) -> bool:
    """Plan (first run) or requeue (retry) the shards of the claimed ``task``, enqueue
    them, and leave the parent running without a worker; False if the job is not split
    after all (the caller then runs it itself)."""
    new_shards: list[BulkTask] = []
    if not task.shard_count:
        plan = operation.plan_shards(task, shard_count(task.total))
        if not plan or len(plan) < 2:
            return False
        new_shards = [_shard(task, index, part, len(plan)) for index, part in enumerate(plan)]
        stage = _running_in(len(plan))
    else:
        stage = _running_in(task.shard_count)
    pending = lifecycle.hand_to_shards(task, new_shards, stage)
    enqueue(pending)
    # Every shard may already have ended (a retry with nothing left to do).
    lifecycle.settle(task.pk, task._state.db or "default")
    return True


def _running_in(parts: int) -> texts.Text:
    return texts.ngettext("Running in %(count)s part", "Running in %(count)s parts", parts)


def enqueue(shards: list[BulkTask]) -> None:
    """Hand each shard to the queue; a shard the queue refuses ends failed (and settles)."""
    backend = get_backend()
    for shard in shards:
        try:
            backend_id = backend.enqueue(shard)
        except Exception as exc:
            logger.exception("bulkops: could not enqueue shard %s", shard.pk)
            lifecycle.enqueue_failed(shard.pk, exc)
            continue
        if backend_id:
            lifecycle.enqueued(shard.pk, backend_id)


def _shard(parent: BulkTask, index: int, part: dict[str, Any], count: int) -> BulkTask:
    shard = BulkTask(
        shard_of=parent,
        shard_index=index,
        operation=parent.operation,
        owner_id=parent.owner_id,
        model=parent.model,
        params={**parent.params, "shard": {k: v for k, v in part.items() if k != "total"}},
        selection=parent.selection,
        query=parent.query,
        # The same stored upload: shards read it, only the parent owns it.
        input_file=parent.input_file.name or "",
        backend=parent.backend,
        permission=parent.permission,
        language=parent.language,
        total=part.get("total"),
    )
    shard.set_text(
        "label",
        texts.gettext(
            "%(label)s (part %(part)s of %(count)s)",
            label=texts.restored(parent.label, parent.label_data),
            part=index + 1,
            count=count,
        ),
    )
    return shard


def pk_ranges(queryset: models.QuerySet[Any], total: int, count: int) -> list[dict[str, Any]]:
    """``count`` primary-key ranges ``[lo, hi)`` of about ``total / count`` rows each.

    The first range is open below and the last open above, so together they cover every
    row the selection matches when a shard runs, wherever its pk falls. A selection that
    cannot be filtered again (sliced, DISTINCT, a union, values()) is not split.
    """
    query = queryset.query
    if query.is_sliced or query.distinct or query.combinator or queryset._fields is not None:  # type: ignore[attr-defined]
        return []
    ordered = queryset.order_by("pk").values_list("pk", flat=True)
    size = -(-total // count)
    bounds: list[Any] = []
    for i in range(1, count):
        found = list(ordered[i * size : i * size + 1])
        if not found:
            break
        bounds.append(found[0])
    edges = [None, *(b if isinstance(b, int) else str(b) for b in bounds), None]
    ranges = []
    for i in range(len(edges) - 1):
        rows = size if edges[i + 1] is not None else max(total - size * i, 0)
        ranges.append({"pk": [edges[i], edges[i + 1]], "total": rows})
    return ranges


def row_ranges(total: int, count: int) -> list[dict[str, Any]]:
    """``count`` ranges ``[start, stop)`` of data-row positions in a stored upload."""
    size = -(-total // count)
    return [
        {"rows": [start, min(start + size, total)], "total": min(start + size, total) - start}
        for start in range(0, total, size)
    ]


def restrict(queryset: models.QuerySet[Any], shard: dict[str, Any]) -> models.QuerySet[Any]:
    """The part of ``queryset`` a shard works on (its pk range)."""
    lo, hi = shard["pk"]
    if lo is not None:
        queryset = queryset.filter(pk__gte=lo)
    if hi is not None:
        queryset = queryset.filter(pk__lt=hi)
    return queryset
