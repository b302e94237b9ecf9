from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bulkops import progress, texts
from bulkops.conf import settings
from bulkops.permissions import sees_all_tasks
from bulkops.tabular.names import storage_name
from bulkops.types import UserLike


def _upload_to(instance: BulkTask, filename: str) -> str:
    # A name of any length and script is stored short; the task keeps the name as given.
    return timezone.now().strftime(settings.UPLOAD_TO) + f"{instance.pk}/{storage_name(filename)}"


def _results_to(instance: BulkTask, filename: str) -> str:
    return timezone.now().strftime(settings.RESULTS_TO) + f"{instance.pk}/{storage_name(filename)}"


class BulkTaskQuerySet(models.QuerySet["BulkTask"]):
    def visible_to(self, user: UserLike | None) -> BulkTaskQuerySet:
        """Tasks ``user`` may see, poll, cancel and download (bulkops.permissions.may_see_task)."""
        if user is None or not user.is_authenticated:
            return self.none()
        # A shard is part of its parent: the parent is the task people see.
        tasks = self.filter(shard_of__isnull=True)
        if sees_all_tasks(user):
            return tasks
        return tasks.filter(owner=user)

    def unfinished(self) -> BulkTaskQuerySet:
        return self.filter(status__in=BulkTask.UNFINISHED)

    def stalled(self, now: Any = None) -> BulkTaskQuerySet:
        now = now or timezone.now()
        limit = now - timedelta(seconds=settings.HEARTBEAT_TIMEOUT)
        # A sharded parent has no worker of its own: its shards are what can stall.
        return self.filter(status=BulkTask.Status.RUNNING, shard_count=0).filter(
            Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True)
        )


class BulkTask(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        """What a finished task amounts to; blank while it is unfinished.

        ``status`` says how the run ended (it ran to the end, it stopped, it was
        cancelled); the outcome says what that means for the rows, and is what every
        page shows: a run that reached the end with failed rows is never "succeeded".
        """

        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Finished with failed rows")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    UNFINISHED = (Status.PENDING, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bulk_tasks",
    )
    operation = models.CharField(_("operation"), max_length=100)
    # "app_label.modelname" of the rows the task works on, blank for jobs without one.
    model = models.CharField(_("model"), max_length=200, blank=True)
    label = models.CharField(_("label"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )

    # Written in the same UPDATE as the final status (bulkops.lifecycle.finish).
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, blank=True, db_index=True
    )

    total = models.PositiveBigIntegerField(_("total"), null=True, blank=True)
    processed = models.PositiveBigIntegerField(_("processed"), default=0)
    succeeded_count = models.PositiveBigIntegerField(_("succeeded"), default=0)
    failed_count = models.PositiveBigIntegerField(_("failed"), default=0)
    skipped_count = models.PositiveBigIntegerField(_("skipped"), default=0)

    message = models.TextField(_("message"), blank=True)
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    # The message id and parameters behind ``message`` and ``stage`` (bulkops.texts),
    # so each reader sees them in their own language.
    message_data = models.JSONField(_("message id"), default=dict, blank=True, editable=False)
    stage_data = models.JSONField(_("stage id"), default=dict, blank=True, editable=False)
    label_data = models.JSONField(_("label id"), default=dict, blank=True, editable=False)

    params = models.JSONField(_("parameters"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # The selection, written only by the server (bulkops.selection): a versioned JSON
    # form of its filters, or a stamp saying ``query`` holds a pickled ``QuerySet.query``.
    selection = models.JSONField(_("selection"), default=dict, blank=True, editable=False)
    query = models.BinaryField(null=True, blank=True, editable=False)
    result = models.JSONField(_("result"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    input_file = models.FileField(_("input file"), upload_to=_upload_to, blank=True, max_length=500)
    result_file = models.FileField(
        _("result file"), upload_to=_results_to, blank=True, max_length=500
    )

    # Resume state, written in the same transaction as the chunk it describes.
    checkpoint = models.JSONField(
        _("checkpoint"), default=dict, blank=True, editable=False, encoder=DjangoJSONEncoder
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0, editable=False)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    backend = models.CharField(_("backend"), max_length=255, blank=True, editable=False)
    backend_id = models.CharField(_("backend id"), max_length=255, blank=True, editable=False)
    # "host:pid" of the process that holds the task while it runs.
    worker = models.CharField(_("worker"), max_length=255, blank=True, editable=False)
    # The permission that authorized the task when its caller chose one
    # (``app_label.codename``, or ``"*"`` for any logged-in user); blank for the
    # operation's own model permission. A retry of the failed rows checks the same.
    permission = models.CharField(_("permission"), max_length=255, blank=True, editable=False)
    # The language of whoever started the task: its e-mail and its error report are
    # written once, in that language (pages render each reader's own).
    language = models.CharField(_("language"), max_length=15, blank=True, editable=False)
    # Tasks sharing a non-blank key never run at the same time.
    lock_key = models.CharField(_("lock key"), max_length=255, blank=True, editable=False)
    # The task this one retries, if any.
    parent = models.ForeignKey(
        "self",
        verbose_name=_("retry of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
    )
    # Sharding (docs/sharding.md): a shard is a task of its own, run by the same runner,
    # whose rows are one range of its parent's input. ``shard_count`` > 0 marks a parent
    # whose work was handed to that many shards; it is finished by the last of them.
    shard_of = models.ForeignKey(
        "self",
        verbose_name=_("shard of"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="shards",
    )
    shard_index = models.PositiveIntegerField(
        _("shard number"), null=True, blank=True, editable=False
    )
    shard_count = models.PositiveIntegerField(_("shards"), default=0, editable=False)

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True, editable=False)
    # Where the current attempt began (time and rows already done), so the rate and ETA
    # of a resumed task count neither the queue's wait nor the rows of earlier attempts.
    attempt_started_at = models.DateTimeField(
        _("attempt started"), null=True, blank=True, editable=False
    )
    attempt_start_processed = models.PositiveBigIntegerField(
        _("processed before the attempt"), default=0, editable=False
    )

    objects = BulkTaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("bulk task")
        verbose_name_plural = _("bulk tasks")
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="bulkops_owner_recent"),
            models.Index(fields=["status", "heartbeat_at"], name="bulkops_status_heartbeat"),
            models.Index(fields=["lock_key", "status"], name="bulkops_lock"),
        ]
        constraints = [
            # The database, not a read-then-write in Python, keeps two submits racing on
            # the same rows from both getting in: see bulkops.api.submit (TaskConflict).
            models.UniqueConstraint(
                fields=["lock_key"],
                condition=Q(status__in=["pending", "running"]) & ~Q(lock_key=""),
                name="bulkops_one_unfinished_per_lock",
            ),
            # A parent's plan is written once: a second dispatch finds its shards.
            models.UniqueConstraint(
                fields=["shard_of", "shard_index"],
                condition=Q(shard_of__isnull=False),
                name="bulkops_one_row_per_shard",
            ),
        ]
        permissions = [("view_all_tasks", _("Can see every user's bulk tasks"))]

    def __str__(self) -> str:
        return self.get_label_display() or f"{self.operation} {self.model}".strip()

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("bulkops:task-detail", kwargs={"pk": self.pk})

    # Texts: stored as English plus a message id, shown in the reader's language.

    def set_text(self, name: str, value: texts.Text | str | None) -> None:
        """Set ``message``, ``stage`` or ``label`` (and its message id) on this object."""
        limit = getattr(self._meta.get_field(name), "max_length", None)
        text, data = texts.stored(value, limit - 1 if limit else None)
        if limit and data and len(text) == limit - 1:
            text += "…"  # a long file name in a label must not break the insert
        setattr(self, name, text)
        setattr(self, f"{name}_data", data)

    def get_message_display(self) -> str:
        return texts.shown(self.message, self.message_data)

    def get_stage_display(self) -> str:
        return texts.shown(self.stage, self.stage_data)

    def get_label_display(self) -> str:
        return texts.shown(self.label, self.label_data)

    def get_operation_display(self) -> str:
        """The operation's label ("Import"), or its name when it is not registered here."""
        from bulkops.exceptions import UnknownOperation
        from bulkops.registry import get_operation

        try:
            label = get_operation(self.operation).label
        except UnknownOperation:
            label = ""
        return str(label or self.operation)

    # Derived values: computed from the stored numbers, never stored themselves.

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @staticmethod
    def outcome_of(status: str, *, succeeded: int, failed: int, skipped: int) -> str:
        """The outcome of a run that ended with ``status`` and these row counts."""
        if status == BulkTask.Status.CANCELLED:
            return BulkTask.Outcome.CANCELLED
        if status != BulkTask.Status.SUCCEEDED:
            return BulkTask.Outcome.FAILED
        if not failed:
            return BulkTask.Outcome.SUCCEEDED
        if not succeeded and not skipped:
            return BulkTask.Outcome.FAILED
        return BulkTask.Outcome.PARTIAL

    @property
    def state(self) -> str:
        """What the pages show: the outcome once finished, the status before."""
        return self.outcome or self.status

    def get_state_display(self) -> str:
        if self.outcome:
            return str(self.Outcome(self.outcome).label)
        return str(self.get_status_display())

    @property
    def is_stalled(self) -> bool:
        if self.status == self.Status.RUNNING and self.shard_count:
            from bulkops.lifecycle import holder_is_gone

            # A sharded parent stalls when one of its running shards has.
            return holder_is_gone(self)
        if self.status != self.Status.RUNNING or self.heartbeat_at is None:
            return False
        return timezone.now() - self.heartbeat_at > timedelta(seconds=settings.HEARTBEAT_TIMEOUT)

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.processed * 100 / self.total))

    @property
    def elapsed(self) -> timedelta | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return max(end - self.started_at, timedelta(0))

    @property
    def attempt_elapsed(self) -> timedelta | None:
        """Time the current attempt has run (the whole run for a task never resumed)."""
        start = self.attempt_started_at or self.started_at
        if start is None:
            return None
        end = self.finished_at or timezone.now()
        return max(end - start, timedelta(0))

    @property
    def rate(self) -> float | None:
        """Rows per second in the current attempt."""
        elapsed = self.attempt_elapsed
        if elapsed is None:
            return None
        return progress.rate(self.processed - self.attempt_start_processed, elapsed.total_seconds())

    @property
    def eta(self) -> timedelta | None:
        """Time left, once an estimate means something (see bulkops.progress)."""
        elapsed = self.attempt_elapsed
        if self.is_finished or elapsed is None:
            return None
        seconds = progress.seconds_left(
            total=self.total,
            processed=self.processed,
            attempt_start=self.attempt_start_processed,
            attempt_seconds=elapsed.total_seconds(),
        )
        return None if seconds is None else timedelta(seconds=seconds)

    @property
    def model_class(self) -> type[models.Model] | None:
        return apps.get_model(self.model) if self.model else None

    def get_queryset(self) -> models.QuerySet[Any] | None:
        """The rows selected at submit time, re-evaluated now.

        Raises ``SelectionUnavailable`` when an upgrade made the stored selection unreadable.
        """
        from bulkops import selection

        return selection.load(self)


class BulkTaskError(models.Model):
    """One failed input row of a task."""

    task = models.ForeignKey(BulkTask, on_delete=models.CASCADE, related_name="errors")
    # The row number the user knows (spreadsheet row) or the position in the selection.
    row = models.PositiveBigIntegerField(_("row"), null=True, blank=True)
    # The object's primary key or another reference to the input row.
    ref = models.CharField(_("reference"), max_length=255, blank=True)
    field = models.CharField(_("field"), max_length=255, blank=True)
    message = models.TextField(_("message"))
    message_data = models.JSONField(_("message id"), default=dict, blank=True, editable=False)
    values = models.JSONField(
        _("original values"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )

    class Meta:
        ordering = ["task", "row", "id"]
        verbose_name = _("bulk task error")
        verbose_name_plural = _("bulk task errors")
        indexes = [models.Index(fields=["task", "row"], name="bulkops_error_task_row")]

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else self.ref
        return f"{where}: {self.message}"

    def get_message_display(self) -> str:
        return texts.shown(self.message, self.message_data)


# Models kept in their own modules, registered with the app here.
from bulkops.notes import TaskNote  # noqa: E402,F401
from bulkops.notifications import TaskNotification  # noqa: E402,F401
