"""``run(task_id)``: claim, run, finish. The only entry point a worker calls."""

from __future__ import annotations

import logging
from typing import Any

from bulkops import lifecycle, sharding, signals, texts
from bulkops.context import RunContext
from bulkops.exceptions import TaskCancelled, TaskLeaseLost
from bulkops.heartbeat import Heartbeat
from bulkops.models import BulkTask
from bulkops.registry import get_operation

logger = logging.getLogger("bulkops")
Status = BulkTask.Status


def run(task_id: Any) -> str | None:
    """Run the task once; return its final status, or None if another run holds it.

    An exception from the operation marks the task failed and is raised again, so
    the queue records the failure as well.
    """
    task = lifecycle.claim(task_id)
    if task is None:
        return None
    operation = get_operation(task.operation)()
    if sharding.applies(task, operation) and _dispatched(task, operation):
        return task.status  # running: its shards finish it
    ctx = RunContext(task, operation)
    if task.shard_of_id is None:
        signals.task_started.send(sender=BulkTask, task=task)
    with Heartbeat(task):
        try:
            result = operation.run(ctx)
        except TaskLeaseLost:
            # Another run owns the task now; its row is theirs to finish.
            logger.warning("bulkops: task %s was taken over; this run stops", task_id)
            return None
        except TaskCancelled:
            lifecycle.finish(task, Status.CANCELLED, message=texts.gettext("Cancelled."))
        except BaseException as exc:
            lifecycle.finish(task, Status.FAILED, message=_describe(exc))
            raise
        else:
            lifecycle.finish(task, Status.SUCCEEDED, result=result or {})
    return task.status


def _dispatched(task: BulkTask, operation: Any) -> bool:
    try:
        return sharding.dispatch(task, operation)
    except TaskLeaseLost:
        logger.warning("bulkops: task %s was taken over; this run stops", task.pk)
        return True
    except BaseException as exc:
        lifecycle.finish(task, Status.FAILED, message=_describe(exc))
        raise


def run_in_process(task_id: Any) -> None:
    """Run the task in the calling process (inline jobs, ImmediateBackend).

    A failure is already recorded on the task by run(); it is logged here, not raised,
    so the request or script that started the job is not broken by it.
    """
    try:
        run(task_id)
    except Exception:
        logger.exception("bulkops: task %s failed", task_id)


def _describe(exc: BaseException) -> texts.Text | str:
    text_of = getattr(exc, "text", None) or (exc.args[0] if exc.args else None)
    if isinstance(text_of, texts.Text) and type(exc).__module__.startswith("bulkops"):
        return text_of
    if isinstance(exc, OSError):
        # str() of an OSError carries the server's absolute path: never show it to users.
        if exc.strerror:
            return f"{type(exc).__name__}: {exc.strerror}"
        return texts.gettext(
            "%(error)s: the file could not be read or written", error=type(exc).__name__
        )
    text = str(exc).strip()
    if isinstance(exc, Exception) and text and type(exc).__module__.startswith("bulkops"):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
