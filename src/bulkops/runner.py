"""``run(task_id)``: claim, run, finish. The only entry point a worker calls."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connections
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from bulkops import signals
from bulkops.conf import settings
from bulkops.context import RunContext
from bulkops.exceptions import TaskCancelled, TaskLeaseLost
from bulkops.models import BulkTask
from bulkops.registry import get_operation

logger = logging.getLogger("bulkops")


def worker_id() -> str:
    """``host:pid:start``; the start time tells a reused pid from the process that died."""
    # Read at call time: a forked worker child has another pid than its parent.
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    stat = _proc_stat(pid)
    return stat[19] if stat else ""


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None without /proc."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def holder_is_dead(holder: str) -> bool:
    """Whether the process named by a worker id ran on this host and is gone.

    Zombies count as dead (a container whose init does not reap them keeps them), and
    so does a live process that reuses the pid but started at another time.
    """
    host, _, rest = holder.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return False
    return stat[0] == "Z" or bool(started and stat[19] != started)


def run(task_id: Any) -> str | None:
    """Run the task once; return its final status, or None if another run holds it.

    An exception from the operation marks the task failed and is raised again, so
    the queue records the failure as well.
    """
    task = claim(task_id)
    if task is None:
        return None
    operation = get_operation(task.operation)()
    ctx = RunContext(task, operation)
    signals.task_started.send(sender=BulkTask, task=task)
    try:
        result = operation.run(ctx)
    except TaskLeaseLost:
        # Another run owns the task now; its row is theirs to finish.
        logger.warning("bulkops: task %s was taken over; this run stops", task_id)
        return None
    except TaskCancelled:
        _finish(ctx, BulkTask.Status.CANCELLED, message="Cancelled.")
    except BaseException as exc:
        _finish(ctx, BulkTask.Status.FAILED, message=_describe(exc))
        raise
    else:
        _finish(ctx, BulkTask.Status.SUCCEEDED, result=result or {})
    return task.status


def run_in_process(task_id: Any) -> None:
    """Run the task in the calling process (inline jobs, ImmediateBackend).

    A failure is already recorded on the task by run(); it is logged here, not raised,
    so the request or script that started the job is not broken by it.
    """
    try:
        run(task_id)
    except Exception:
        logger.exception("bulkops: task %s failed", task_id)


def claim(task_id: Any) -> BulkTask | None:
    """Move the task to RUNNING in one conditional UPDATE; None if it is not ours to run.

    A pending task is claimed by exactly one delivery. A running task is taken over
    only when its holder is gone: its heartbeat is older than HEARTBEAT_TIMEOUT, or it
    ran on this host under a process id that no longer exists.
    """
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.HEARTBEAT_TIMEOUT)
    claimable = Q(status=BulkTask.Status.PENDING) | Q(
        status=BulkTask.Status.RUNNING, heartbeat_at__lt=stale_before
    )
    dead_holder = _dead_local_holder(task_id)
    if dead_holder is not None:
        claimable |= Q(status=BulkTask.Status.RUNNING, worker=dead_holder)
    updated = (
        BulkTask.objects.filter(pk=task_id)
        .filter(claimable)
        .update(
            status=BulkTask.Status.RUNNING,
            started_at=Coalesce("started_at", now),
            heartbeat_at=now,
            worker=worker_id(),
            attempts=F("attempts") + 1,
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


def _dead_local_holder(task_id: Any) -> str | None:
    holder = (
        BulkTask.objects.filter(pk=task_id, status=BulkTask.Status.RUNNING)
        .values_list("worker", flat=True)
        .first()
    )
    return holder if holder and holder_is_dead(holder) else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        # str() of an OSError carries the server's absolute path: never show it to users.
        return f"{type(exc).__name__}: {exc.strerror or 'the file could not be read or written'}"
    text = str(exc).strip()
    if isinstance(exc, Exception) and text and type(exc).__module__.startswith("bulkops"):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _finish(
    ctx: RunContext, status: str, *, message: str = "", result: dict[str, Any] | None = None
) -> None:
    task = ctx.task
    now = timezone.now()
    task.status = status
    task.finished_at = now
    if message or status != BulkTask.Status.SUCCEEDED:
        task.message = message
    if result is not None:
        task.result = result
    fields = {
        "status": status,
        "finished_at": now,
        "heartbeat_at": now,
        "message": task.message,
        "stage": task.stage,
        "result": task.result,
        "processed": task.processed,
        "succeeded_count": task.succeeded_count,
        "failed_count": task.failed_count,
        "skipped_count": task.skipped_count,
    }
    if status == BulkTask.Status.SUCCEEDED and task.total is None:
        task.total = task.processed
        fields["total"] = task.total
    try:
        _write_final(ctx, fields)
    except Exception:
        # The error may have been a dropped connection: retry once on a fresh one, so
        # the row does not stay "running" behind a failure we already know about.
        connections[ctx.db].close()
        close_old_connections()
        _write_final(ctx, fields)
    signals.task_finished.send(sender=BulkTask, task=task)


def _write_final(ctx: RunContext, fields: dict[str, Any]) -> None:
    BulkTask.objects.using(ctx.db).filter(
        pk=ctx.task.pk, status=BulkTask.Status.RUNNING, worker=ctx.task.worker
    ).update(**fields)
