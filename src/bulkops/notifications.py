"""Tell a task's owner that it finished: e-mail built in, other channels by a setting.

Whether the owner is told is decided once per finished task, in this order:
the choice made for that task (``notify_when_finished``), then "nobody is told about a
job that ran inside the request or command that started it" (the user watched it
finish), then the user's own preference (``NOTIFY_USER``), then the project setting
(``NOTIFY``). Each callable in ``NOTIFIERS`` is then called with the task and its owner.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from django.conf import settings as django_settings
from django.core import checks
from django.core.mail import send_mail
from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from bulkops.conf import settings
from bulkops.models import BulkTask
from bulkops.signals import task_finished
from bulkops.types import UserLike

logger = logging.getLogger("bulkops")


class TaskNotification(models.Model):
    """The choice made for one task when it was submitted, and when the owner was told."""

    task = models.OneToOneField(BulkTask, on_delete=models.CASCADE, related_name="notification")
    wanted = models.BooleanField(_("notify the owner"), default=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        app_label = "bulkops"
        verbose_name = _("task notification")
        verbose_name_plural = _("task notifications")

    def __str__(self) -> str:
        return f"{self.task_id}: {'wanted' if self.wanted else 'not wanted'}"


def notify_when_finished(task: BulkTask, wanted: bool = True) -> None:
    """Choose for this task whether its owner is told when it finishes.

    Call it in the same transaction as ``submit`` so a fast worker cannot finish first.
    ``wanted=True`` also covers a job that runs inline; ``False`` silences this task
    whatever the user's or the project's setting says.
    """
    TaskNotification.objects.update_or_create(task=task, defaults={"wanted": wanted})


# Tasks created by this process, most recent last; bounded so a web process that
# submits all day does not grow. A task that finishes in the process that created it
# ran inline (or on ImmediateBackend): whoever started it watched it end.
_created_here: OrderedDict[Any, None] = OrderedDict()
_CREATED_HERE_LIMIT = 1000


@receiver(post_save, sender=BulkTask, dispatch_uid="bulkops.notifications.created")
def _remember_created(sender: Any, instance: BulkTask, created: bool, **kwargs: Any) -> None:
    if created:
        _created_here[instance.pk] = None
        while len(_created_here) > _CREATED_HERE_LIMIT:
            _created_here.popitem(last=False)


def mark_unattended(task: BulkTask) -> None:
    """Nobody watches this task even if it runs here (a scheduled run, a cron job)."""
    _created_here.pop(task.pk, None)


def should_notify(task: BulkTask, *, watched: bool = False) -> bool:
    owner = task.owner
    if owner is None:
        return False
    choice = TaskNotification.objects.filter(task=task).values_list("wanted", flat=True).first()
    if choice is not None:
        return choice
    if watched:
        return False
    if settings.NOTIFY_USER:
        preference = import_string(settings.NOTIFY_USER)(owner)
        if preference is not None:
            return bool(preference)
    return bool(settings.NOTIFY)


def task_url(task: BulkTask) -> str:
    """The task page as an absolute link (``SITE_URL`` + its path)."""
    return settings.SITE_URL.rstrip("/") + task.get_absolute_url()


def email_owner(task: BulkTask, user: UserLike) -> None:
    """The built-in channel: a plain-text e-mail with the outcome, counts and link."""
    address = getattr(user, "email", "")
    if not address:
        return
    context = {"task": task, "user": user, "url": task_url(task)}
    # In the language the owner started the task in (the worker has none of its own).
    with translation.override(task.language or django_settings.LANGUAGE_CODE):
        subject = render_to_string("bulkops/email/task_finished_subject.txt", context)
        body = render_to_string("bulkops/email/task_finished.txt", context)
    send_mail(
        " ".join(subject.split()),
        body,
        settings.NOTIFY_FROM or django_settings.DEFAULT_FROM_EMAIL,
        [address],
    )


@receiver(task_finished, dispatch_uid="bulkops.notifications.finished")
def _on_finished(sender: Any, task: BulkTask, **kwargs: Any) -> None:
    watched = _created_here.pop(task.pk, "absent") != "absent"
    # A failing channel must never turn a finished task into a failed run.
    try:
        if not should_notify(task, watched=watched):
            return
        owner = task.owner
        for path in settings.NOTIFIERS:
            try:
                import_string(path)(task, owner)
            except Exception:
                logger.exception("bulkops: notifier %s failed for task %s", path, task.pk)
        TaskNotification.objects.update_or_create(task=task, defaults={"sent_at": timezone.now()})
    except Exception:
        logger.exception("bulkops: could not notify the owner of task %s", task.pk)


@checks.register()
def check_site_url(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[Any]:
    if (settings.NOTIFY or settings.NOTIFY_USER) and not settings.SITE_URL:
        return [
            checks.Warning(
                "BULKOPS['SITE_URL'] is empty, so notification links are not absolute.",
                hint="Set it to the site's base address, e.g. 'https://intranet.example.com'.",
                id="bulkops.W010",
            )
        ]
    return []
