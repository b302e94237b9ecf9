"""``submit``: validate, create the task row, dispatch on commit."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import IntegrityError, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from bulkops import lifecycle, selection, texts
from bulkops.backends import get_backend
from bulkops.conf import settings
from bulkops.exceptions import NothingSelected, TaskConflict
from bulkops.models import BulkTask
from bulkops.operations.base import Operation
from bulkops.registry import get_operation
from bulkops.types import UserLike

logger = logging.getLogger("bulkops")


def submit(
    operation_name: str,
    *,
    user: UserLike | None = None,
    queryset: models.QuerySet[Any] | None = None,
    model: type[models.Model] | str | None = None,
    params: dict[str, Any] | None = None,
    input_file: File[Any] | None = None,
    label: texts.Text | str = "",
    sync_threshold: int | None = None,
    parent: BulkTask | None = None,
    check_permission: bool = True,
    permission: str | None = None,
    lock_scope: str | None = None,
    notify: bool | None = None,
) -> BulkTask:
    """Start a bulk job and return its task.

    Parameters are validated here, so a bad request fails in the caller with a
    ``ValidationError``; a user without the operation's permission gets
    ``PermissionDenied``. ``permission`` replaces the operation's model permission with
    another (``"app_label.codename"``, or ``"*"`` for any logged-in user); it is kept on
    the task, so retrying its failed rows checks the same one. A view that checked its
    own permissions passes ``check_permission=False`` (an anonymous user is still
    refused), and the permission it checked, if it has one. An operation that
    locks its model raises ``TaskConflict`` while another unfinished task holds the
    same model, unless that task's worker is gone (its task then ends stalled). With
    ``lock_scope`` (a tenant, an owner...) only tasks on the same model *and* the same
    scope conflict. ``notify`` tells the owner by e-mail (or the project's channels) when
    the task finishes (``True``, also for a job that runs inline) or never (``False``);
    ``None`` leaves it to the user's and the project's settings. A ``queryset`` without
    rows raises ``NothingSelected`` and creates no task. The job is handed to the
    backend when the surrounding transaction commits; jobs under ``SYNC_THRESHOLD`` rows
    run inline instead.
    """
    operation = get_operation(operation_name)()
    if isinstance(model, str):
        model = apps.get_model(model)
    if queryset is not None:
        model = queryset.model
    if operation.requires_queryset and queryset is None:
        raise TypeError(f"Operation {operation_name!r} needs a queryset.")
    if user is not None and not user.is_authenticated:
        raise PermissionDenied("Log in to run bulk operations.")
    if user is not None and check_permission and not may_run(user, operation, model, permission):
        raise PermissionDenied(f"You may not run {operation_name!r} on these rows.")
    cleaned = operation.clean_params(dict(params or {}), model=model, queryset=queryset, user=user)
    if queryset is not None and not queryset.exists():
        raise NothingSelected(
            gettext("No rows are selected, so there is nothing to do. Select rows and try again.")
        )

    task = BulkTask(
        operation=operation_name,
        owner=user if user is not None and user.is_authenticated else None,
        model=model._meta.label_lower if model is not None else "",
        params=cleaned,
        backend=settings.BACKEND,
        parent=parent,
        permission=permission or "",
        language=translation.get_language() or "",
        created_at=timezone.now(),
    )
    if queryset is not None:
        task.selection, task.query = selection.dump(queryset)
    if operation.locks_model and model is not None:
        task.lock_key = lock_key(model, lock_scope)
    if input_file is not None:
        task.input_file.save(_basename(input_file.name or "upload"), input_file, save=False)
    task.set_text("label", label or operation.get_label(task))
    task.total = operation.get_total(task)
    if task.lock_key:
        _raise_if_locked(task.lock_key)
        try:
            # The savepoint keeps a caller's transaction usable after a lost race.
            with transaction.atomic(using=task._state.db or "default"):
                task.save()
        except IntegrityError as exc:
            _raise_if_locked(task.lock_key)
            raise exc
    else:
        task.save()
    if notify is not None:
        # Before the dispatch below: outside a transaction on_commit runs at once.
        from bulkops.notifications import notify_when_finished

        notify_when_finished(task, notify)

    threshold = settings.SYNC_THRESHOLD if sync_threshold is None else sync_threshold
    inline = task.total is not None and task.total < threshold
    transaction.on_commit(partial(_dispatch, task.pk, inline), using=task._state.db)
    return task


def may_run(
    user: UserLike,
    operation: Operation,
    model: type[models.Model] | None,
    permission: str | None = None,
) -> bool:
    """Whether ``user`` may run ``operation`` on ``model``.

    ``permission`` replaces the operation's model permission: ``"app_label.codename"``,
    or ``"*"`` for anyone (authentication is the caller's to check).
    """
    if permission == "*":
        return True
    if permission:
        return user.has_perm(permission)
    return operation.has_permission(user, model)


def lock_key(model: type[models.Model], scope: str | None = None) -> str:
    """The conflict key: the model, narrowed by ``scope`` when one is given."""
    key = model._meta.label_lower
    return f"{key}:{scope}"[:255] if scope else key


def _raise_if_locked(key: str, *, exclude: Any = None) -> None:
    holder = BulkTask.objects.unfinished().filter(lock_key=key).exclude(pk=exclude).first()
    # Nobody may be polling a task whose worker was killed: the next submit that needs
    # its lock is what notices, ends it as stalled, and goes ahead.
    if holder is not None and lifecycle.holder_is_gone(holder) and lifecycle.mark_stalled(holder):
        holder = BulkTask.objects.unfinished().filter(lock_key=key).exclude(pk=exclude).first()
    if holder is not None:
        raise TaskConflict(
            texts.gettext(
                "Another bulk task is still working on these rows (%(task)s, %(state)s); "
                "wait for it to finish or cancel it, then try again.",
                task=str(holder),
                state=texts.label(BulkTask.Status(holder.status).label),
            ),
            task=holder,
        )


def _basename(name: str) -> str:
    # Browsers may send a path; only the last part is ever used, never a directory.
    return name.replace("\\", "/").rsplit("/", 1)[-1] or "upload"


def _dispatch(task_id: Any, inline: bool) -> None:
    from bulkops import runner

    if inline:
        runner.run_in_process(task_id)
        return
    task = BulkTask.objects.get(pk=task_id)
    try:
        backend_id = get_backend().enqueue(task)
    except Exception as exc:
        logger.exception("bulkops: could not enqueue task %s", task_id)
        lifecycle.enqueue_failed(task_id, exc)
        return
    if backend_id:
        lifecycle.enqueued(task_id, backend_id)


def get_task(task_id: Any, *, user: UserLike | None = None) -> BulkTask:
    """The task, looked up among those ``user`` may see when a user is given."""
    queryset = BulkTask.objects.all() if user is None else BulkTask.objects.visible_to(user)
    return queryset.get(pk=task_id)


def cancel(task: BulkTask) -> bool:
    """Ask the task to stop; a pending one is cancelled at once. False if already finished."""
    if not lifecycle.request_cancel(task):
        return False
    if task.status == BulkTask.Status.CANCELLED:  # it was pending: its queue entry can go
        get_backend().revoke(task)
    return True


def retry(task: BulkTask) -> BulkTask:
    """Run a failed, cancelled or stalled task again, resuming from its checkpoint."""
    if task.lock_key:
        _raise_if_locked(task.lock_key, exclude=task.pk)
    try:
        with transaction.atomic(using=task._state.db or "default"):
            updated = lifecycle.requeue(task)
    except IntegrityError:
        _raise_if_locked(task.lock_key, exclude=task.pk)
        raise
    if not updated:
        raise ValueError(gettext("Only a failed, cancelled or stalled task can be retried."))
    task.refresh_from_db()
    transaction.on_commit(partial(_dispatch, task.pk, False), using=task._state.db)
    return task


def _failed_rows_label(task: BulkTask) -> texts.Text | str:
    if not task.label:
        return ""
    label = texts.restored(task.label, task.label_data)
    return texts.gettext("%(label)s (failed rows)", label=label)


def retry_failed(task: BulkTask, *, user: UserLike | None = None) -> BulkTask:
    """A new task over only the rows that failed in ``task`` (its recorded row errors).

    The rows are looked up inside the finished task's own selection, so a retry can
    never reach beyond what the first run was allowed to touch; ``user`` needs the
    permission that authorized the first run (its ``permission``, or the operation's).
    """
    from bulkops.views.selection import clean_pks

    queryset = task.get_queryset()
    if not task.is_finished or not task.failed_count or queryset is None:
        raise ValueError(
            gettext("Only a finished task over a selection, with failed rows, can do this.")
        )
    refs = task.errors.exclude(ref="").values_list("ref", flat=True)
    pks = clean_pks(queryset.model, refs)
    if not pks:
        raise ValueError(gettext("The failed rows of this task have no references to retry."))
    return submit(
        task.operation,
        user=user,
        queryset=queryset.filter(pk__in=pks),
        params={k: v for k, v in task.params.items() if k != "time_limit"},
        label=_failed_rows_label(task),
        parent=task,
        permission=task.permission or None,
    )


def mark_stalled(task: BulkTask) -> bool:
    """End a running task whose worker stopped reporting as failed, so the user can Retry."""
    return lifecycle.mark_stalled(task)
