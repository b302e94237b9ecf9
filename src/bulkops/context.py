"""The run context an operation receives: batches, progress, checkpoint, errors, cancel."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import models, transaction

from bulkops import lifecycle, texts
from bulkops.conf import settings
from bulkops.exceptions import TaskCancelled, TaskTimeLimitExceeded
from bulkops.models import BulkTask, BulkTaskError
from bulkops.operations.pacing import Pacer
from bulkops.texts import Text

if TYPE_CHECKING:
    from bulkops.operations.base import Operation


def _text(message: Text | str) -> Text | str:
    return message if isinstance(message, Text) else str(message)


COUNTS = ("processed", "succeeded_count", "failed_count", "skipped_count")
# Checkpoint keys batches() keeps its position in (a queryset's last pk, a row offset).
POSITION_KEYS = ("after_pk", "offset")


@dataclass
class RowError:
    message: Text | str
    row: int | None = None
    ref: str = ""
    field: str = ""
    values: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class KeyRange:
    """A chunk of a queryset walked by primary key: ``count`` selected rows in (after, last]."""

    queryset: models.QuerySet[Any]
    after: Any
    last: Any
    count: int

    def within(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        """The rows of ``queryset`` in the range: one short WHERE, no list of pks."""
        rows = queryset.filter(pk__lte=self.last)
        return rows if self.after is None else rows.filter(pk__gt=self.after)

    def pks(self) -> list[Any]:
        return list(self.within(self.queryset).order_by("pk").values_list("pk", flat=True))


def by_pk_range(queryset: models.QuerySet[Any]) -> bool:
    """Whether the rows of a chunk can be selected again as a pk range of ``queryset``.

    Querysets that cannot be filtered again (sliced, DISTINCT, unions, values()) keep
    their chunk as the list of its pks.
    """
    query = queryset.query
    values = queryset._fields  # type: ignore[attr-defined]
    return not (query.is_sliced or query.distinct or query.combinator or values is not None)


class Batch:
    """One chunk of work; ``with batch:`` applies it in one transaction with its checkpoint."""

    def __init__(
        self,
        ctx: RunContext,
        items: list[Any] | None,
        *,
        start: int,
        state: dict[str, Any],
        pacer: Pacer | None = None,
        keys: KeyRange | None = None,
    ) -> None:
        self.ctx = ctx
        self.pacer = pacer
        self._items = items
        # A queryset's chunk: the selected rows with a pk in (after, last]. Its pks are
        # read only if the operation asks for ``items``.
        self.keys = keys
        self._count = len(items) if items is not None else keys.count if keys else 0
        # Position of the first item in the whole input (0-based).
        self.start = start
        # Resume state saved with this batch; operations may add their own keys.
        self.state = state
        self.succeeded_count = 0
        self.failed_count = 0
        self.skipped_count = 0
        self.errors: list[RowError] = []
        self.committed = False
        # Filled while committing: the task's counts and checkpoint after this batch.
        self.counts: dict[str, int] = {}
        self.checkpoint: dict[str, Any] = {}
        self.saved_errors = 0
        # Whether the commit's checkpoint write found a cancel requested.
        self.cancel_seen = False
        self._atomic: Any = None

    @property
    def items(self) -> list[Any]:
        """The chunk: the primary keys of a queryset's rows (read on first use), or the
        source's items."""
        if self._items is None:
            assert self.keys is not None
            self._items = self.keys.pks()
        return self._items

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def succeeded(self, n: int = 1) -> None:
        self.succeeded_count += n

    def skipped(self, n: int = 1) -> None:
        self.skipped_count += n

    def error(
        self,
        message: Text | str,
        *,
        row: int | None = None,
        ref: Any = "",
        field: str = "",
        values: dict[str, Any] | None = None,
    ) -> None:
        """Record one failed input row; it is saved with the batch, or not at all."""
        self.failed_count += 1
        self.errors.append(RowError(_text(message), row, str(ref), field, values or {}))

    def __enter__(self) -> Batch:
        if self.pacer is not None:
            self.pacer.begin()
        self._atomic = transaction.atomic(using=self.ctx.db)
        try:
            self._atomic.__enter__()
        except BaseException:
            self._end_pace()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        committed = False
        try:
            if exc_type is None:
                try:
                    self.ctx._commit_batch(self)
                except BaseException as error:
                    self._atomic.__exit__(type(error), error, error.__traceback__)
                    raise
            self._atomic.__exit__(exc_type, exc, tb)
            committed = exc_type is None
        finally:
            self._end_pace()
            if not committed:
                # What was written in the rolled-back transaction is not on the row.
                self.ctx._texts_written = None
        if exc_type is None:
            self.committed = True
            self.ctx._after_commit(self)

    def _end_pace(self) -> None:
        if self.pacer is not None:
            self.pacer.end(self._count)


class RunContext:
    """Handed to ``Operation.run``; the only way an operation talks to its task row."""

    def __init__(self, task: BulkTask, operation: Operation) -> None:
        self.task = task
        self.operation = operation
        self.db = task._state.db or "default"
        saved = task.checkpoint or {}
        # Operation-specific resume state, as committed with the last batch.
        self.checkpoint: dict[str, Any] = dict(saved.get("state", {}))
        counts = saved.get("counts", {})
        restored = {name: counts.get(name, 0) for name in COUNTS}
        stale = {name for name, value in restored.items() if getattr(task, name) != value}
        for name, value in restored.items():
            setattr(task, name, value)
        if stale:
            # A resumed run starts from what was committed, not from progress a dead
            # run reported past it; its rate is measured from here.
            task.attempt_start_processed = task.processed
            lifecycle.write(task, attempt_start_processed=task.processed, **restored)
        self.chunk_size = int(task.params.get("chunk_size") or settings.CHUNK_SIZE)
        # A chunk size asked for with the job is kept; otherwise chunks are sized by time.
        self._fixed_size = bool(task.params.get("chunk_size"))
        self._pacer: Pacer | None = None
        self._interval = float(settings.PROGRESS_INTERVAL)
        self._last_write = time.monotonic()
        self._dirty = False
        limit = operation.time_limit or task.params.get("time_limit") or settings.TIME_LIMIT
        self.time_limit: float | None = float(limit) if limit else None
        self._deadline = time.monotonic() + self.time_limit if self.time_limit else None
        self._queryset: models.QuerySet[Any] | None = None
        self._error_rows: int | None = None
        # A shard's row errors belong to its parent, the task people see and retry.
        self._errors_task_id = task.shard_of_id or task.pk
        self._last_roll_up = time.monotonic()
        # The last chunk's commit read the cancel flag (in its checkpoint write): the
        # next chunk needs no query of its own. None until a chunk has committed.
        self._cancel_seen: bool | None = None
        # The message and stage as the task's row holds them.
        self._texts_written: dict[str, Any] | None = self._text_fields()

    # What the job works on

    @property
    def params(self) -> dict[str, Any]:
        return self.task.params

    @property
    def model(self) -> type[models.Model] | None:
        return self.task.model_class

    @property
    def shard(self) -> dict[str, Any] | None:
        """The part of the parent's input this task works on, if it is a shard."""
        return self.task.params.get("shard") if self.task.shard_of_id else None

    @property
    def queryset(self) -> models.QuerySet[Any]:
        if self._queryset is None:
            queryset = self.task.get_queryset()
            if queryset is None:
                raise ValueError(f"Task {self.task.pk} was submitted without a queryset.")
            if self.shard and "pk" in self.shard:
                from bulkops.sharding import restrict

                queryset = restrict(queryset, self.shard)
            self._queryset = queryset
        return self._queryset

    @property
    def user(self) -> Any:
        return self.task.owner

    # Iteration

    def batches(self, source: Iterable[Any], *, size: int | None = None) -> Iterator[Batch]:
        """Split ``source`` into batches, resuming after the last committed one.

        A queryset is walked by primary key (keyset), so rows changed or deleted by
        earlier batches never shift later ones; any other iterable by position.
        """
        # The pacer sizes chunks by time (operations/pacing.py).
        pacer = Pacer(self.db, size or self.chunk_size, fixed=bool(size) or self._fixed_size)
        self._pacer = pacer
        if isinstance(source, models.QuerySet):
            return self._queryset_batches(source, pacer)
        return self._iterable_batches(source, pacer)

    def _queryset_batches(self, queryset: models.QuerySet[Any], pacer: Pacer) -> Iterator[Batch]:
        after = self.checkpoint.get("after_pk")
        position = self.task.processed
        ordered = queryset.order_by("pk")
        ranged = by_pk_range(queryset)
        while True:
            self._check_before_batch()
            page = ordered.filter(pk__gt=after) if after is not None else ordered
            size = pacer.size()
            pks = page.values_list("pk", flat=True)
            # A full chunk is known by its last pk alone (LIMIT 1 OFFSET size - 1): the
            # database walks the index but sends one value, not ``size`` of them.
            end = list(pks[size - 1 : size]) if ranged else []
            items: list[Any] | None = None
            if end:
                last, count = end[0], size
            else:
                items = list(pks[:size])
                if not items:
                    return
                last, count = items[-1], len(items)
            keys = KeyRange(queryset, after, last, count) if ranged else None
            state = {**self.checkpoint, "after_pk": last if isinstance(last, int) else str(last)}
            batch = Batch(self, items, start=position, state=state, pacer=pacer, keys=keys)
            yield batch
            self._require_committed(batch)
            after, position = state["after_pk"], position + count
            if count < size:
                return  # the selection's last chunk: nothing after it to ask for

    def _iterable_batches(self, source: Iterable[Any], pacer: Pacer) -> Iterator[Batch]:
        offset = int(self.checkpoint.get("offset", 0))
        iterator = iter(source)
        # Rows committed before a restart are skipped, not re-applied.
        for _ in itertools.islice(iterator, offset):
            pass
        while True:
            self._check_before_batch()
            # A source that read ahead (the import's prefetch) sets the chunk it holds.
            items = list(itertools.islice(iterator, getattr(source, "buffered", 0) or pacer.size()))
            if not items:
                return
            state = {**self.checkpoint, "offset": offset + len(items)}
            batch = Batch(self, items, start=offset, state=state, pacer=pacer)
            yield batch
            self._require_committed(batch)
            offset += len(items)

    def next_chunk_size(self) -> int:
        """How many rows the next chunk of the running ``batches()`` will take."""
        return self._pacer.size() if self._pacer is not None else self.chunk_size

    def _require_committed(self, batch: Batch) -> None:
        if not batch.committed:
            raise RuntimeError(
                f"{type(self.operation).__qualname__} iterated a batch without applying it in "
                "'with batch:'; its rows would be skipped on resume."
            )

    # Progress and state

    def set_total(self, total: int | None) -> None:
        self.task.total = total
        self._write(total=total)

    def progress(
        self,
        *,
        message: Text | str | None = None,
        stage: Text | str | None = None,
        advance: int = 0,
        succeeded: int = 0,
        force: bool = False,
    ) -> None:
        """Report progress of work that is not committed in batches (throttled).

        ``advance`` rows were processed, ``succeeded`` of them done (an export's rows
        written), so the counts mean the same as a batch's.
        """
        if message is not None:
            self.task.set_text("message", message)
        if stage is not None:
            self.task.set_text("stage", stage)
        self.task.processed += advance
        self.task.succeeded_count += succeeded
        self._dirty = True
        if force or time.monotonic() - self._last_write >= self._interval:
            self._write(**self._progress_fields())

    def void_successes(self) -> None:
        """The rows counted as done were not applied after all (an all-or-nothing import
        refused): they count as neither succeeded nor skipped, so the outcome is failed."""
        self.task.succeeded_count = self.task.skipped_count = 0
        self._write(succeeded_count=0, skipped_count=0)

    def save_result_file(self, name: str, content: File[Any]) -> str:
        """Store ``content`` as the task's result file (download link); return its name."""
        self.task.result_file.save(name, content, save=False)
        self._write(result_file=self.task.result_file.name)
        return str(self.task.result_file.name)

    def restart_batches(self, **state: Any) -> None:
        """Start the next ``batches()`` at the beginning of a new source, with ``state``.

        For jobs that walk several sources in turn (one device after another): the
        position saved for the previous source must not skip rows of the next.
        """
        for key in POSITION_KEYS:
            self.checkpoint.pop(key, None)
        self.checkpoint.update(state)

    def save_checkpoint(self, **state: Any) -> None:
        """Save resume state outside a batch (for jobs whose own writes commit elsewhere)."""
        self.checkpoint.update(state)
        self._write(checkpoint=self._checkpoint_value(self.checkpoint))

    def error(self, message: Text | str, **kwargs: Any) -> None:
        """Record a row error outside any batch, at once."""
        row_error = RowError(_text(message), **kwargs)
        self.task.failed_count += 1
        self._error_rows = self._stored_errors() + self._save_errors([row_error])
        self._write(failed_count=self.task.failed_count)

    def check_cancelled(self) -> None:
        """Raise if the user asked to cancel or the time limit has passed."""
        self._check_deadline()
        if lifecycle.cancel_was_requested(self.task):
            raise TaskCancelled()

    def _check_before_batch(self) -> None:
        # Right after a commit the flag was read by its checkpoint write.
        seen, self._cancel_seen = self._cancel_seen, None
        if seen is None:
            self.check_cancelled()
            return
        if seen:
            raise TaskCancelled()
        self._check_deadline()

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise TaskTimeLimitExceeded(
                texts.ngettext(
                    "Stopped after the time limit of %(limit)s s; %(count)s row was "
                    "committed before it.",
                    "Stopped after the time limit of %(limit)s s; %(count)s rows were "
                    "committed before it.",
                    self.task.processed,
                    limit=float(self.time_limit or 0),
                )
            )

    # Internals

    def _checkpoint_value(self, state: dict[str, Any]) -> dict[str, Any]:
        return {"state": state, "counts": {name: getattr(self.task, name) for name in COUNTS}}

    def _save_errors(self, errors: list[RowError]) -> int:
        room = max(settings.MAX_ERRORS - self._stored_errors(), 0)
        rows = [
            BulkTaskError(
                task_id=self._errors_task_id,
                row=e.row,
                ref=e.ref[:255],
                field=e.field[:255],
                message=stored[0],
                message_data=stored[1],
                values=e.values,
            )
            for e in errors[:room]
            for stored in [texts.stored(e.message)]
        ]
        if rows:
            BulkTaskError.objects.using(self.db).bulk_create(rows)
        return len(rows)

    def _stored_errors(self) -> int:
        if self._error_rows is None:
            self._error_rows = (
                BulkTaskError.objects.using(self.db).filter(task_id=self._errors_task_id).count()
            )
        return self._error_rows

    def _commit_batch(self, batch: Batch) -> None:
        # Counts reach the task object only after COMMIT, so a failed commit cannot
        # leave the object (and the final write made from it) claiming more than is saved.
        task = self.task
        batch.counts = {
            "processed": task.processed + len(batch),
            "succeeded_count": task.succeeded_count + batch.succeeded_count,
            "failed_count": task.failed_count + batch.failed_count,
            "skipped_count": task.skipped_count + batch.skipped_count,
        }
        batch.saved_errors = self._save_errors(batch.errors) if batch.errors else 0
        batch.checkpoint = {"state": batch.state, "counts": batch.counts}
        batch.cancel_seen = self._write(
            unless_cancelled=True,
            checkpoint=batch.checkpoint,
            **self._changed_texts(),
            **batch.counts,
        )

    def _after_commit(self, batch: Batch) -> None:
        for name, value in batch.counts.items():
            setattr(self.task, name, value)
        self._error_rows = self._stored_errors() + batch.saved_errors
        self.checkpoint = batch.state
        self.task.checkpoint = batch.checkpoint
        self._cancel_seen = batch.cancel_seen
        parent = self.task.shard_of_id
        if parent is not None and time.monotonic() - self._last_roll_up >= self._interval:
            # After the commit, not in it: the parent row is shared by every shard.
            self._last_roll_up = time.monotonic()
            lifecycle.roll_up(parent, self.db)

    def _write(self, *, unless_cancelled: bool = False, **fields: Any) -> bool:
        cancelled = lifecycle.write(self.task, unless_cancelled=unless_cancelled, **fields)
        self._last_write = time.monotonic()
        self._dirty = False
        if "message" in fields:
            self._texts_written = self._text_fields()
        return cancelled

    def flush(self) -> None:
        """Write throttled progress that has not reached the row yet."""
        if self._dirty:
            self._write(**self._progress_fields())

    def _text_fields(self) -> dict[str, Any]:
        task = self.task
        return {
            "message": task.message,
            "message_data": task.message_data,
            "stage": task.stage,
            "stage_data": task.stage_data,
        }

    def _changed_texts(self) -> dict[str, Any]:
        # The message and stage go with a chunk's checkpoint only when they changed:
        # fewer columns to compile and send on every commit.
        texts = self._text_fields()
        return {} if texts == self._texts_written else texts

    def _progress_fields(self) -> dict[str, Any]:
        task = self.task
        return {
            **self._text_fields(),
            "processed": task.processed,
            "succeeded_count": task.succeeded_count,
        }
