"""Run any operation on a timetable through the backend's own scheduler.

bulkops keeps no scheduler of its own. A schedule is a django-q2 ``Schedule`` or a
django-celery-beat ``PeriodicTask`` that calls :func:`run_scheduled` (for Celery, the
task ``bulkops.scheduled``) with fixed arguments; each run is an ordinary ``BulkTask``
owned by the schedule's user. The helpers below only fill those rows in; list, pause
and remove them in the scheduler's own admin. For ``django.tasks``, which has no
scheduler, a cron line runs ``manage.py bulkops_run`` (docs/automation.md).

Overlap: a run is skipped while the previous run of the same schedule (or any task
holding the same model lock) is unfinished; the skip is logged and returned as the
job's result, so the scheduler's own history shows it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from bulkops import api
from bulkops.exceptions import TaskConflict
from bulkops.models import BulkTask
from bulkops.notifications import mark_unattended

logger = logging.getLogger("bulkops")

FUNC = "bulkops.schedules.run_scheduled"
CELERY_TASK = "bulkops.scheduled"


def run_scheduled(
    operation: str,
    *,
    user: str | None = None,
    model: str | None = None,
    filters: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    label: str = "",
    schedule: str = "",
    notify: bool | None = None,
) -> str:
    """Start one run of a schedule; return "started <id>" or "skipped: <why>".

    ``user`` is a username (the natural key); ``model`` "app_label.Model" and
    ``filters`` select the rows (``Model._default_manager.filter(**filters)``).
    A user who has lost the operation's permission gets no task: the run fails
    with ``PermissionDenied`` in the scheduler's history.
    """
    owner = None
    if user:
        owner = get_user_model()._default_manager.get_by_natural_key(user)
    queryset = None
    if model:
        queryset = apps.get_model(model)._default_manager.filter(**(filters or {}))
    lock_key = f"schedule:{schedule}" if schedule else ""
    if lock_key and (holder := BulkTask.objects.unfinished().filter(lock_key=lock_key).first()):
        return _skipped(schedule, f"the previous run {holder.pk} is still {holder.status}")
    try:
        with transaction.atomic():
            task = api.submit(
                operation,
                user=owner,
                queryset=queryset,
                params=params or {},
                label=label or schedule,
                notify=notify,
            )
            if lock_key and not task.lock_key:
                # The database's one-unfinished-task-per-lock rule closes the race
                # between two scheduler processes firing the same schedule at once.
                BulkTask.objects.filter(pk=task.pk).update(lock_key=lock_key)
            mark_unattended(task)
    except TaskConflict as exc:
        return _skipped(schedule, str(exc))
    except IntegrityError:
        return _skipped(schedule, "another run of this schedule started at the same time")
    return f"started {task.pk}"


def _skipped(schedule: str, why: str) -> str:
    logger.warning("bulkops: scheduled run of %r skipped: %s", schedule, why)
    return f"skipped: {why}"


def _kwargs(name: str, operation: str, **kwargs: Any) -> dict[str, Any]:
    user = kwargs.get("user")
    if user is not None and not isinstance(user, str):
        kwargs["user"] = user.get_username()
    return {
        "operation": operation,
        "schedule": name,
        **{k: v for k, v in kwargs.items() if v not in (None, "", {})},
    }


def django_q_schedule(
    name: str,
    operation: str,
    *,
    cron: str | None = None,
    minutes: int | None = None,
    user: Any = None,
    model: str | None = None,
    filters: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    notify: bool | None = None,
    **schedule_fields: Any,
) -> Any:
    """Create or update the django-q2 ``Schedule`` named ``name`` (cron or every N minutes).

    Pause it in the admin by setting Repeats to 0, resume with -1; delete it there.
    Extra keyword arguments are ``Schedule`` fields (``cluster``, ``next_run`` ...).
    """
    from django_q.models import Schedule

    if (cron is None) == (minutes is None):
        raise ValueError("Give exactly one of cron='*/5 * * * *' or minutes=N.")
    kwargs = _kwargs(
        name, operation, user=user, model=model, filters=filters, params=params, notify=notify
    )
    defaults = {
        "func": FUNC,
        # django-q2 stores keyword arguments as Python literal text.
        "kwargs": repr(kwargs),
        "schedule_type": Schedule.CRON if cron else Schedule.MINUTES,
        "cron": cron,
        "minutes": minutes,
        "repeats": -1,
        **schedule_fields,
    }
    schedule, _ = Schedule.objects.update_or_create(name=name, defaults=defaults)
    return schedule


def celery_beat_schedule(
    name: str,
    operation: str,
    *,
    cron: str | None = None,
    every: int | None = None,
    user: Any = None,
    model: str | None = None,
    filters: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    notify: bool | None = None,
    queue: str | None = None,
) -> Any:
    """Create or update the django-celery-beat ``PeriodicTask`` named ``name``.

    ``cron`` is "minute hour day-of-month month day-of-week"; ``every`` is seconds.
    Pause it in the admin by unticking Enabled; delete it there.
    """
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    if (cron is None) == (every is None):
        raise ValueError("Give exactly one of cron='*/5 * * * *' or every=seconds.")
    timing: dict[str, Any] = {"interval": None, "crontab": None}
    if cron:
        minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
        timing["crontab"], _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    else:
        timing["interval"], _ = IntervalSchedule.objects.get_or_create(
            every=every, period=IntervalSchedule.SECONDS
        )
    kwargs = _kwargs(
        name, operation, user=user, model=model, filters=filters, params=params, notify=notify
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=name,
        defaults={
            "task": CELERY_TASK,
            "kwargs": json.dumps(kwargs),
            "queue": queue,
            "enabled": True,
            **timing,
        },
    )
    return task
