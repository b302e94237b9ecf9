"""Task notes: short remarks users leave on a task they may see (``TaskNote``).

The views live in ``bulkops.views.notes``; ``notes_for(task)`` is the serializer any
JSON surface uses, so every surface shows a note the same way.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bulkops.types import UserLike

MAX_LENGTH = 5000


class TaskNoteManager(models.Manager["TaskNote"]):
    def get_queryset(self) -> models.QuerySet[TaskNote]:
        # Every list of notes shows its authors: one query, not one per note.
        return super().get_queryset().select_related("author")


class TaskNote(models.Model):
    """A user's remark on a task; only its author may change or delete it."""

    task = models.ForeignKey("bulkops.BulkTask", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="bulk_task_notes",
    )
    text = models.TextField(_("note"), max_length=MAX_LENGTH)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("edited"), null=True, blank=True, editable=False)

    objects = TaskNoteManager()

    class Meta:
        app_label = "bulkops"
        ordering = ["created_at", "id"]
        verbose_name = _("task note")
        verbose_name_plural = _("task notes")

    def __str__(self) -> str:
        return self.text[:60]

    def may_change(self, user: UserLike | None) -> bool:
        return user is not None and user.is_authenticated and self.author_id == user.pk


def notes_for(task: Any) -> list[dict[str, Any]]:
    """The task's notes as plain data for a JSON response (oldest first).

    Text is returned as written: JSON is not HTML, and whoever renders it escapes it.
    """
    return [
        {
            "id": note.pk,
            "author": note.author.get_username() if note.author else None,
            "text": note.text,
            "created_at": note.created_at.isoformat(),
            "updated_at": note.updated_at.isoformat() if note.updated_at else None,
        }
        for note in task.notes.all()
    ]
