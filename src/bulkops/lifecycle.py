"""Every write of a BulkTask's lifecycle: the only module that changes ``status``.

```
pending ──claim──▶ running ──finish──▶ succeeded | failed | cancelled   (+ outcome)
   │                  │ write (chunk commits, progress) / beat (fenced: still held)
   │                  ├─request_cancel (flag; the worker finishes it)
   │                  └─mark_stalled ──▶ failed (holder silent or dead)
   ├─request_cancel ──▶ cancelled
   └─enqueue_failed ──▶ failed
failed | cancelled | stalled ──requeue──▶ pending
```

A sharded parent (docs/sharding.md) leaves its worker at ``hand_to_shards`` and stays
running without one; its counts follow its shards (``roll_up``), and the shard that
finishes last ends it (``settle``) with the sum of theirs.

A worker's writes are *fenced*: they only apply while the row is running and held by
that worker (``held``), so a run that lost its task (stalled, taken over) can never
overwrite the run that holds it now; its next write raises ``TaskLeaseLost`` and its
open chunk rolls back.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connections, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from bulkops import signals, texts
from bulkops.conf import settings
from bulkops.exceptions import TaskLeaseLost
from bulkops.liveness import holder_is_dead, worker_id
from bulkops.models import BulkTask

logger = logging.getLogger("bulkops")

Status = BulkTask.Status


def held(task: BulkTask, using: str | None = None) -> QuerySet[BulkTask]:
    """The task's row while it is running and held by the worker ``task`` was claimed by."""
    return BulkTask.objects.using(using or _db(task)).filter(**_holding(task))


def _holding(task: BulkTask) -> dict[str, Any]:
    """The fence of every write of a running task (``held``, ``_fenced_update``)."""
    return {"pk": task.pk, "status": Status.RUNNING, "worker": task.worker}


# Worker side -----------------------------------------------------------------------


def claim(task_id: Any) -> BulkTask | None:
    """Move the task to RUNNING in one conditional UPDATE; None if it is not ours to run.

    A pending task is claimed by exactly one delivery. A running task is taken over
    only when its holder is gone: its heartbeat is older than HEARTBEAT_TIMEOUT, or it
    ran on this host under a process id that no longer exists. Messages and the stage
    of an earlier attempt are cleared; the attempt's start is recorded for its rate.
    """
    now = timezone.now()
    # A parent handed to its shards has no holder to lose: it is never taken over.
    claimable = Q(status=Status.PENDING) | Q(
        status=Status.RUNNING, heartbeat_at__lt=_stale(now), shard_count=0
    )
    holder = _running_holder(task_id)
    if holder and holder_is_dead(holder):
        claimable |= Q(status=Status.RUNNING, worker=holder)
    updated = (
        BulkTask.objects.filter(pk=task_id)
        .filter(claimable)
        .update(
            status=Status.RUNNING,
            outcome="",
            started_at=Coalesce("started_at", now),
            attempt_started_at=now,
            attempt_start_processed=F("processed"),
            heartbeat_at=now,
            worker=worker_id(),
            attempts=F("attempts") + 1,
            **texts.fields(message="", stage=""),
        )
    )
    if not updated:
        logger.warning(
            "bulkops: task %s is already running or finished; this delivery does nothing",
            task_id,
        )
        return None
    task = BulkTask.objects.get(pk=task_id)
    if task.attempts > 1:
        logger.warning("bulkops: resuming task %s, attempt %s", task_id, task.attempts)
    return task


def write(task: BulkTask, *, unless_cancelled: bool = False, **fields: Any) -> bool:
    """Update the held task's row (progress, counts, checkpoint, files), with a heartbeat.

    With ``unless_cancelled`` the answer is whether the user asked the task to stop, at
    no cost in the usual case: a chunk's commit saves its checkpoint with an UPDATE that
    only matches while no cancel is requested. When it matches nothing (cancel
    requested, or the task lost) the flag is read and the row written anyway: the chunk
    commits as before, and the caller stops before the next one.
    """
    now = timezone.now()
    fields["heartbeat_at"] = now
    cancelled = False
    if unless_cancelled:
        if _fenced_update(task, fields, unless_cancelled=True):
            task.heartbeat_at = now
            return False
        cancelled = cancel_was_requested(task)  # TaskLeaseLost if it is not ours any more
    if not _fenced_update(task, fields):
        raise TaskLeaseLost(f"Task {task.pk} is no longer held by this worker.")
    task.heartbeat_at = now
    return cancelled


def _fenced_update(
    task: BulkTask, fields: dict[str, Any], *, unless_cancelled: bool = False
) -> int:
    """``held(task).update(**fields)`` (and no cancel requested): the rows it changed.

    Every chunk's commit makes this write, and the ORM would build and compile the same
    statement each time (about 1 ms, more than the UPDATE takes on the server). The
    statement is written here from the fields' own database conversion instead, as the
    ORM's update compiler does it; a value that is an expression, or a relation, goes
    through the ORM.
    """
    db = _db(task)
    connection = connections[db]
    meta = BulkTask._meta
    quote = connection.ops.quote_name
    assignments, params = [], []
    for name, value in fields.items():
        field = meta.get_field(name)
        if field.is_relation or hasattr(value, "resolve_expression"):
            rows = held(task, db)
            if unless_cancelled:
                rows = rows.filter(cancel_requested=False)
            return rows.update(**fields)
        assignments.append(f"{quote(str(field.column))} = %s")  # type: ignore[union-attr]
        params.append(field.get_db_prep_save(value, connection))  # type: ignore[union-attr]
    fence = _holding(task)
    if unless_cancelled:
        fence["cancel_requested"] = False
    conditions = []
    for name, value in fence.items():
        field = meta.pk if name == "pk" else meta.get_field(name)
        conditions.append(f"{quote(str(field.column))} = %s")  # type: ignore[union-attr]
        params.append(field.get_db_prep_value(value, connection))  # type: ignore[union-attr]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {' AND '.join(conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def cancel_was_requested(task: BulkTask) -> bool:
    """Whether the user asked the held task to stop; ``TaskLeaseLost`` if it is not held."""
    flag = held(task).values_list("cancel_requested", flat=True).first()
    if flag is None:
        raise TaskLeaseLost(f"Task {task.pk} is no longer held by this worker.")
    return flag


def beat(task: BulkTask) -> bool:
    """Refresh the heartbeat alone; False once the task is no longer held.

    Called from the heartbeat thread on its own connection. ``skip_locked`` keeps it from
    queueing behind the worker's own open chunk on PostgreSQL: a row locked by a write
    in progress needs no proof of life.
    """
    db = _db(task)
    rows = _unless_locked(held(task, db), db)
    with transaction.atomic(using=db):
        updated = rows.update(heartbeat_at=timezone.now())
    return bool(updated) or held(task, db).exists()


def finish(
    task: BulkTask, status: str, *, message: texts.Text | str = "", result: Any = None
) -> None:
    """End the held task: final status, outcome, counts and message in one UPDATE.

    The stage is cleared (it described work that is over); the message is what the
    operation left for the user, or why the run stopped.
    """
    now = timezone.now()
    task.status = status
    task.finished_at = now
    task.set_text("stage", "")
    if message or status != Status.SUCCEEDED:
        task.set_text("message", message)
    if result is not None:
        task.result = result
    if status == Status.SUCCEEDED and task.total is None:
        task.total = task.processed
    task.outcome = BulkTask.outcome_of(
        status,
        succeeded=task.succeeded_count,
        failed=task.failed_count,
        skipped=task.skipped_count,
    )
    fields = {
        name: getattr(task, name)
        for name in (
            "status",
            "outcome",
            "finished_at",
            "message",
            "message_data",
            "stage",
            "stage_data",
            "result",
            "total",
            "processed",
            "succeeded_count",
            "failed_count",
            "skipped_count",
        )
    }
    fields["heartbeat_at"] = now
    db = _db(task)
    try:
        updated = held(task, db).update(**fields)
    except Exception:
        # The error may have been a dropped connection: retry once on a fresh one, so
        # the row does not stay "running" behind a failure we already know about.
        connections[db].close()
        close_old_connections()
        updated = held(task, db).update(**fields)
    if not updated:
        # Ended as stalled or taken over meanwhile: that row is the truth, not ours.
        logger.warning("bulkops: task %s was no longer held when its run ended", task.pk)
        return
    _finished(task)


# Anyone's side (views, commands, submit) --------------------------------------------


def request_cancel(task: BulkTask) -> bool:
    """Cancel a pending task at once, flag a running one; False if already finished."""
    now = timezone.now()
    if BulkTask.objects.filter(pk=task.pk, status=Status.PENDING).update(
        status=Status.CANCELLED,
        outcome=BulkTask.Outcome.CANCELLED,
        cancel_requested=True,
        finished_at=now,
        **texts.fields(message=texts.gettext("Cancelled before it started.")),
    ):
        task.refresh_from_db()
        _finished(task)
        return True
    if not BulkTask.objects.filter(pk=task.pk, status=Status.RUNNING).update(cancel_requested=True):
        return False
    cancel_shards(task)
    return True


def cancel_shards(parent: BulkTask) -> None:
    """Pass a parent's cancel to its unfinished shards: running ones stop at their next
    chunk, pending ones end at once (the last of them settles the parent)."""
    unfinished = BulkTask.objects.filter(shard_of=parent.pk, status__in=BulkTask.UNFINISHED)
    # Flag first: a shard claimed between these two statements still sees the flag.
    unfinished.update(cancel_requested=True)
    for shard in unfinished.filter(status=Status.PENDING):
        request_cancel(shard)


def requeue(task: BulkTask) -> bool:
    """Make a failed, cancelled or stalled task pending again; False if it is none of those."""
    retryable = BulkTask.objects.filter(pk=task.pk).filter(
        Q(status__in=[Status.FAILED, Status.CANCELLED])
        | Q(pk__in=BulkTask.objects.stalled().values("pk"))
    )
    return bool(
        retryable.update(
            status=Status.PENDING,
            outcome="",
            cancel_requested=False,
            finished_at=None,
            **texts.fields(
                message=texts.gettext("Queued again; resuming from the last committed chunk."),
                stage="",
            ),
            worker="",
        )
    )


def mark_stalled(task: BulkTask) -> bool:
    """End a running task whose holder is silent (or gone from this host) as failed.

    Fenced like every write: if its worker was only slow, its next write finds the task
    no longer held and its chunk rolls back instead of applying twice. For a sharded
    parent, its shards whose holder is gone are ended; the last one settles the parent.
    """
    if task.shard_count:
        return any([mark_stalled(shard) for shard in _gone_shards(task)])
    candidates: QuerySet[BulkTask] = BulkTask.objects.stalled().filter(pk=task.pk)
    holder = _running_holder(task.pk)
    if holder and holder_is_dead(holder):
        candidates = BulkTask.objects.filter(pk=task.pk, status=Status.RUNNING, worker=holder)
    db = _db(task)
    # A row locked by an open write is being worked on: never wait behind it.
    candidates = _unless_locked(candidates.using(db), db)
    with transaction.atomic(using=db):
        updated = candidates.update(
            status=Status.FAILED,
            outcome=BulkTask.Outcome.FAILED,
            finished_at=timezone.now(),
            worker="",
            **texts.fields(
                stage="",
                message=texts.ngettext(
                    "Stalled: the worker stopped reporting. Retry resumes after the last "
                    "committed chunk (%(count)s row).",
                    "Stalled: the worker stopped reporting. Retry resumes after the last "
                    "committed chunk (%(count)s rows).",
                    task.processed,
                ),
            ),
        )
    if not updated:
        return False
    task.refresh_from_db()
    _finished(task)
    return True


def holder_is_gone(task: BulkTask) -> bool:
    """Whether a running task's worker shows no sign of life (stale heartbeat or dead pid)."""
    if task.status != Status.RUNNING:
        return False
    if task.shard_count:
        return bool(_gone_shards(task))
    if task.heartbeat_at is None or task.heartbeat_at < _stale(timezone.now()):
        return True
    return bool(task.worker) and holder_is_dead(task.worker)


def enqueue_failed(task_id: Any, error: Exception) -> None:
    """The backend could not take the task: it ends failed, with the reason."""
    if BulkTask.objects.filter(pk=task_id, status=Status.PENDING).update(
        status=Status.FAILED,
        outcome=BulkTask.Outcome.FAILED,
        finished_at=timezone.now(),
        **texts.fields(
            message=texts.gettext("The task could not be queued: %(error)s", error=str(error))
        ),
    ):
        _finished(BulkTask.objects.get(pk=task_id))


def enqueued(task_id: Any, backend_id: str) -> None:
    BulkTask.objects.filter(pk=task_id).update(backend_id=backend_id)


# Sharded parents -------------------------------------------------------------------


def hand_to_shards(
    task: BulkTask, new_shards: list[BulkTask], stage: texts.Text | str
) -> list[BulkTask]:
    """Write the parent's shards (first run) or requeue its unfinished ones (a retry),
    and release the parent's worker, in one transaction; return the shards to enqueue.

    Fenced: a run that lost its parent writes nothing (``TaskLeaseLost``).
    """
    db = _db(task)
    shards = BulkTask.objects.using(db).filter(shard_of=task.pk)
    with transaction.atomic(using=db):
        if new_shards:
            BulkTask.objects.using(db).bulk_create(new_shards)
        for shard in shards.filter(status__in=[Status.FAILED, Status.CANCELLED]):
            requeue(shard)
        count = shards.count()
        write(task, shard_count=count, worker="", **texts.fields(stage=stage, message=""))
    task.shard_count, task.worker = count, ""
    task.set_text("stage", stage)
    if BulkTask.objects.using(db).filter(pk=task.pk, cancel_requested=True).exists():
        # Cancelled while the shards were being written: they stop too.
        cancel_shards(task)
    return list(shards.filter(status=Status.PENDING).order_by("shard_index"))


SUMMED = ("processed", "succeeded_count", "failed_count", "skipped_count")


def roll_up(parent_id: Any, using: str = "default") -> None:
    """Bring a running parent's counts up to the sum of its shards' committed counts.

    ``Greatest`` keeps the parent's progress monotonic when two shards' roll-ups race
    (each sum is read before the other's UPDATE lands) or a resumed shard restarts from
    its checkpoint; ``settle`` writes the exact sums at the end.
    """
    sums = _shard_sums(parent_id, using)
    BulkTask.objects.using(using).filter(
        pk=parent_id, status=Status.RUNNING, shard_count__gt=0
    ).update(
        heartbeat_at=timezone.now(),
        **{name: Greatest(F(name), Value(sums[name])) for name in SUMMED},
    )


def settle(parent_id: Any, using: str = "default") -> bool:
    """Finish the parent if every shard has finished; True if this call finished it.

    Called after each shard ends. The UPDATE is conditional on the parent still running
    and no shard unfinished, so when the last two shards end together exactly one call
    finishes the parent (each checks after its own shard's end committed).
    """
    shards = BulkTask.objects.using(using).filter(shard_of=parent_id)
    if shards.filter(status__in=BulkTask.UNFINISHED).exists():
        roll_up(parent_id, using)
        return False
    rows = list(shards.order_by("shard_index"))
    statuses = {shard.status for shard in rows}
    if statuses == {Status.SUCCEEDED}:
        status = Status.SUCCEEDED
    elif Status.FAILED in statuses:
        status = Status.FAILED
    else:
        status = Status.CANCELLED
    sums = _shard_sums(parent_id, using)
    failed = next((s for s in rows if s.status == Status.FAILED), None)
    message: texts.Text | str = ""
    if status == Status.CANCELLED:
        message = texts.gettext("Cancelled.")
    elif status == Status.FAILED and failed is not None:
        reason = texts.restored(failed.message, failed.message_data)
        message = texts.gettext(
            "Part %(part)s of %(count)s failed: %(error)s",
            part=(failed.shard_index or 0) + 1,
            count=len(rows),
            error=reason,
        )
    fields: dict[str, Any] = {
        **sums,
        "status": status,
        "outcome": BulkTask.outcome_of(
            status,
            succeeded=sums["succeeded_count"],
            failed=sums["failed_count"],
            skipped=sums["skipped_count"],
        ),
        "finished_at": timezone.now(),
        "heartbeat_at": timezone.now(),
        **texts.fields(stage="", message=message),
        "result": _merged_results([s.result for s in rows]),
    }
    if status == Status.SUCCEEDED:
        fields["total"] = sum(s.total or 0 for s in rows)
    unfinished = BulkTask.objects.filter(shard_of=OuterRef("pk"), status__in=BulkTask.UNFINISHED)
    updated = (
        BulkTask.objects.using(using)
        .filter(pk=parent_id, status=Status.RUNNING, shard_count__gt=0)
        .exclude(Exists(unfinished))
        .update(**fields)
    )
    if updated:
        parent = BulkTask.objects.using(using).get(pk=parent_id)
        _after_shards(parent)
        _finished(parent)
    return bool(updated)


def attach_result_file(task: BulkTask, name: str, content: Any, key: str, **result: Any) -> str:
    """Store ``content`` as the finished ``task``'s result file, named in its result under
    ``key``, beside the other ``result`` keys given; returns the stored name.

    For the work ``after_shards`` does on a settled parent, which has no worker holding
    it (a running task's file goes through ``write``).
    """
    task.result_file.save(name, content, save=False)
    stored = str(task.result_file.name)
    task.result = {**(task.result or {}), **result, key: stored}
    BulkTask.objects.using(_db(task)).filter(pk=task.pk).update(
        result_file=stored, result=task.result
    )
    return stored


def _after_shards(parent: BulkTask) -> None:
    """The operation's own end of a sharded job; a failure is logged, the task stays."""
    from bulkops.registry import get_operation

    try:
        get_operation(parent.operation)().after_shards(parent)
    except Exception:
        logger.exception("bulkops: after_shards of task %s failed", parent.pk)


def _shard_sums(parent_id: Any, using: str) -> dict[str, int]:
    sums = (
        BulkTask.objects.using(using)
        .filter(shard_of=parent_id)
        .aggregate(**{name: Sum(name) for name in SUMMED})
    )
    return {name: int(sums[name] or 0) for name in SUMMED}


def _merged_results(results: list[Any]) -> dict[str, Any]:
    # Counts add up (created, updated, deleted per model); anything else: the first seen.
    merged: dict[str, Any] = {}
    for result in results:
        for key, value in (result or {}).items():
            old = merged.get(key)
            if isinstance(value, bool) or key not in merged:
                merged.setdefault(key, value)
            elif isinstance(value, int) and isinstance(old, int) and not isinstance(old, bool):
                merged[key] = old + value
            elif isinstance(value, dict) and isinstance(old, dict):
                merged[key] = _merged_results([old, value])
    return merged


def _gone_shards(parent: BulkTask) -> list[BulkTask]:
    running = BulkTask.objects.using(_db(parent)).filter(shard_of=parent.pk, status=Status.RUNNING)
    return [shard for shard in running if holder_is_gone(shard)]


# Internals -------------------------------------------------------------------------


def _finished(task: BulkTask) -> None:
    if task.shard_of_id is not None:
        # A shard is not what users see or get notified about: its parent may be done.
        settle(task.shard_of_id, _db(task))
        return
    signals.task_finished.send(sender=BulkTask, task=task, outcome=task.outcome)


def _unless_locked(rows: QuerySet[BulkTask], db: str) -> QuerySet[BulkTask]:
    """``rows`` minus those another transaction holds locked (PostgreSQL; as is elsewhere).

    Run inside ``transaction.atomic``: Django refuses FOR UPDATE in autocommit.
    """
    if not connections[db].features.has_select_for_update_skip_locked:
        return rows
    return BulkTask.objects.using(db).filter(
        pk__in=rows.select_for_update(skip_locked=True).values("pk")
    )


def _running_holder(task_id: Any) -> str | None:
    return (
        BulkTask.objects.filter(pk=task_id, status=Status.RUNNING)
        .values_list("worker", flat=True)
        .first()
    )


def _stale(now: Any) -> Any:
    return now - timedelta(seconds=settings.HEARTBEAT_TIMEOUT)


def _db(task: BulkTask) -> str:
    return task._state.db or "default"
