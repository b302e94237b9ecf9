from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import bulkops
from bulkops import lifecycle, liveness, runner, signals
from bulkops.models import BulkTask, BulkTaskError
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db


def submit(name: str, dummy_backend: list[Any], capture: Any, **kwargs: Any) -> BulkTask:
    with capture(execute=True):
        task = bulkops.submit(name, queryset=Item.objects.all(), **kwargs)
    assert dummy_backend == [task.pk]
    return task


def test_second_delivery_of_a_task_is_a_no_op(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "update", dummy_backend, django_capture_on_commit_callbacks, params={"values": {"value": 5}}
    )

    assert runner.run(task.pk) == BulkTask.Status.SUCCEEDED
    assert runner.run(task.pk) is None

    task.refresh_from_db()
    assert task.attempts == 1
    assert (task.processed, task.succeeded_count) == (25, 25)


def test_a_running_task_held_by_a_live_worker_is_not_claimed_again(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "update", dummy_backend, django_capture_on_commit_callbacks, params={"values": {"value": 5}}
    )
    assert lifecycle.claim(task.pk) is not None

    assert lifecycle.claim(task.pk) is None  # same process, fresh heartbeat: still held


def test_a_task_whose_local_worker_died_is_resumed_from_its_checkpoint(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "update",
        dummy_backend,
        django_capture_on_commit_callbacks,
        params={"values": {"value": 5}, "chunk_size": 10},
    )
    # As a killed worker leaves it: running, held by a pid that is gone, one chunk saved.
    first_ten = list(Item.objects.order_by("pk").values_list("pk", flat=True)[:10])
    Item.objects.filter(pk__in=first_ten).update(value=5)
    BulkTask.objects.filter(pk=task.pk).update(
        status="running",
        worker=f"{liveness.worker_id().rsplit(':', 1)[0]}:999999",
        attempts=1,
        processed=17,  # progress the dead run reported past its last commit
        checkpoint={
            "state": {"after_pk": first_ten[-1]},
            "counts": {"processed": 10, "succeeded_count": 10},
        },
    )
    Item.objects.filter(pk__in=first_ten).update(value=-100)  # would show a re-run

    assert runner.run(task.pk) == BulkTask.Status.SUCCEEDED

    task.refresh_from_db()
    assert task.attempts == 2
    assert (task.processed, task.succeeded_count) == (25, 25)
    # Its rate counts the 15 rows of this attempt, not the 10 of the dead one.
    assert task.attempt_start_processed == 10
    assert Item.objects.filter(value=-100).count() == 10, "committed chunk must not run again"
    assert Item.objects.filter(value=5).count() == 15


def test_exception_marks_task_failed_keeps_committed_chunk_and_reraises(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit("tests.explode", dummy_backend, django_capture_on_commit_callbacks)

    with pytest.raises(RuntimeError, match="the disk is full"):
        runner.run(task.pk)

    task.refresh_from_db()
    assert task.status == "failed"
    assert task.message == "RuntimeError: the disk is full"
    assert task.processed == 10
    assert Item.objects.filter(value=-1).count() == 10


def test_cancel_stops_between_chunks_and_keeps_committed_ones(
    items: list[Item],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    task = submit(
        "update",
        dummy_backend,
        django_capture_on_commit_callbacks,
        params={"values": {"value": 99}, "chunk_size": 10},
    )
    original = runner.RunContext._commit_batch
    statements: list[str] = []

    def cancel_during_first_chunk(self: Any, batch: Any) -> None:
        if batch.start == 0:
            bulkops.cancel(self.task)  # as the user's click would, from another process
        with CaptureQueriesContext(connection) as seen:
            original(self, batch)
        statements.extend(q["sql"] for q in seen.captured_queries)

    monkeypatch.setattr(runner.RunContext, "_commit_batch", cancel_during_first_chunk)

    assert runner.run(task.pk) == BulkTask.Status.CANCELLED

    # The chunk that was running commits; no other starts.
    task.refresh_from_db()
    assert task.status == "cancelled"
    assert task.processed == 10
    assert Item.objects.filter(value=99).count() == 10
    # Its commit read the flag through the checkpoint write, then wrote it anyway.
    assert [s.split()[0] for s in statements] == ["UPDATE", "SELECT", "UPDATE"]


def test_a_chunk_reads_the_cancel_flag_in_its_checkpoint_write_not_in_a_query_of_its_own(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "update",
        dummy_backend,
        django_capture_on_commit_callbacks,
        params={"values": {"value": 7}, "chunk_size": 10},
    )
    with CaptureQueriesContext(connection) as seen:
        assert runner.run(task.pk) == BulkTask.Status.SUCCEEDED
    flag_reads = [
        q
        for q in seen.captured_queries
        if q["sql"].startswith('SELECT "bulkops_bulktask"."cancel_requested" AS')
    ]
    # Once before the first chunk; each later chunk learns it from the commit before.
    assert len(flag_reads) == 1
    assert Item.objects.filter(value=7).count() == len(items)


def test_cancel_before_start_cancels_at_once_and_the_run_is_a_no_op(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "update",
        dummy_backend,
        django_capture_on_commit_callbacks,
        params={"values": {"value": 99}},
    )

    assert bulkops.cancel(task) is True
    assert runner.run(task.pk) is None

    task.refresh_from_db()
    assert task.status == "cancelled"
    assert not Item.objects.filter(value=99).exists()


def test_row_errors_are_saved_with_their_chunk_and_counted(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit("tests.bad_rows", dummy_backend, django_capture_on_commit_callbacks)

    runner.run(task.pk)

    task.refresh_from_db()
    assert task.status == "succeeded"
    assert (task.succeeded_count, task.failed_count, task.processed) == (13, 12, 25)
    first = BulkTaskError.objects.filter(task=task).order_by("row").first()
    assert first is not None
    assert (first.row, first.field, first.message) == (3, "value", "value 1 is odd")
    assert first.values == {"value": 1}


def test_time_limit_fails_the_task_with_a_clear_message(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "tests.slow_update",
        dummy_backend,
        django_capture_on_commit_callbacks,
        params={"chunk_size": 5, "delay": 0.3, "time_limit": 0.5},
    )

    with pytest.raises(bulkops.exceptions.TaskTimeLimitExceeded):
        runner.run(task.pk)

    task.refresh_from_db()
    assert task.status == "failed"
    assert task.message.startswith("Stopped after the time limit of 0.5 s;")
    assert 0 < task.processed < 25
    assert Item.objects.filter(value=1).count() == task.processed


def test_started_and_finished_signals(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    seen: list[tuple[str, str]] = []

    def started(sender: Any, task: BulkTask, **kwargs: Any) -> None:
        seen.append(("started", task.status))

    def finished(sender: Any, task: BulkTask, outcome: str, **kwargs: Any) -> None:
        seen.append(("finished", f"{task.status}/{outcome}"))

    signals.task_started.connect(started)
    signals.task_finished.connect(finished)
    try:
        task = submit(
            "update",
            dummy_backend,
            django_capture_on_commit_callbacks,
            params={"values": {"value": 1}},
        )
        runner.run(task.pk)
        with django_capture_on_commit_callbacks(execute=True):
            every_row_fails = bulkops.submit("tests.bad_rows", queryset=Item.objects.all())
        Item.objects.update(value=1)
        runner.run(every_row_fails.pk)
    finally:
        signals.task_started.disconnect(started)
        signals.task_finished.disconnect(finished)
    assert seen == [
        ("started", "running"),
        ("finished", "succeeded/succeeded"),
        ("started", "running"),
        ("finished", "succeeded/failed"),
    ]


def test_a_finished_task_keeps_no_stage_of_its_run_and_an_export_counts_rows_written(
    items: list[Item], dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit("export", queryset=Item.objects.all(), params={"format": "csv"})
    BulkTask.objects.filter(pk=task.pk).update(
        message="Queued again; resuming from the last committed chunk."
    )

    runner.run(task.pk)

    task.refresh_from_db()
    assert (task.status, task.outcome) == ("succeeded", "succeeded")
    assert (task.processed, task.succeeded_count, task.total) == (25, 25, 25)
    assert (task.stage, task.message) == ("", "")
    assert task.result_file.name.endswith(".csv")


def test_progress_writes_are_throttled_but_the_last_one_always_lands(
    items: list[Item],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "PROGRESS_INTERVAL": 60}
    seen: dict[str, Any] = {}

    @bulkops.operation("tests.chatty")
    def chatty(ctx: Any) -> dict[str, Any]:
        for _ in range(500):
            ctx.progress(advance=1, stage="counting")
        seen["written"] = BulkTask.objects.get(pk=ctx.task.pk).processed
        return {}

    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit("tests.chatty")
    runner.run(task.pk)

    task.refresh_from_db()
    assert seen["written"] == 0, "no write before PROGRESS_INTERVAL has passed"
    assert task.processed == 500
    assert task.status == "succeeded"


def test_a_worker_that_lost_its_task_rolls_back_its_chunk_and_stops(
    items: list[Item],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    task = submit(
        "update",
        dummy_backend,
        django_capture_on_commit_callbacks,
        params={"values": {"value": 42}, "chunk_size": 10},
    )
    original = runner.RunContext._after_commit

    def taken_over_after_first_chunk(self: Any, batch: Any) -> None:
        original(self, batch)
        # Another worker took the task over (stale heartbeat) while this one was slow.
        BulkTask.objects.filter(pk=self.task.pk).update(worker="elsewhere:1")

    monkeypatch.setattr(runner.RunContext, "_after_commit", taken_over_after_first_chunk)

    assert runner.run(task.pk) is None

    task.refresh_from_db()
    assert (task.status, task.worker, task.processed) == ("running", "elsewhere:1", 10)
    assert Item.objects.filter(value=42).count() == 10, "only the chunk it held is applied"


def test_polling_a_task_whose_worker_went_silent_marks_it_stalled(
    client: Any, user: Any, settings: Any
) -> None:
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    settings.BULKOPS = {**settings.BULKOPS, "HEARTBEAT_TIMEOUT": 60}
    task = BulkTask.objects.create(
        operation="update",
        owner=user,
        status="running",
        processed=300,
        worker="gone:1",
        heartbeat_at=timezone.now() - timedelta(seconds=61),
    )
    client.force_login(user)

    response = client.get(reverse("bulkops:task-status", kwargs={"pk": task.pk}))

    assert response.status_code == 286
    task.refresh_from_db()
    assert task.status == "failed"
    assert task.message.startswith("Stalled: the worker stopped reporting.")
    assert "300 rows" in task.message

    assert bulkops.retry(task).status == "pending"


@pytest.mark.parametrize("mode", ["queryset", "objects"])
def test_a_chunk_is_found_by_its_last_key_and_touches_only_selected_rows(
    items: list[Item],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
    mode: str,
) -> None:
    # Every third row is left out: each chunk's key range holds rows it must not touch.
    chosen = [item.pk for item in items if item.value % 3]
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit(
            "update",
            queryset=Item.objects.filter(pk__in=chosen),
            params={"values": {"value": 1000}, "chunk_size": 4, "mode": mode},
        )
    assert dummy_backend == [task.pk]
    with CaptureQueriesContext(connection) as seen:
        assert runner.run(task.pk) == BulkTask.Status.SUCCEEDED

    task.refresh_from_db()
    assert (task.processed, task.succeeded_count, task.skipped_count) == (16, 16, 0)
    assert sorted(Item.objects.filter(value=1000).values_list("pk", flat=True)) == chosen
    assert Item.objects.exclude(value=1000).count() == len(items) - len(chosen)
    key_reads = [
        q["sql"]
        for q in seen.captured_queries
        if q["sql"].startswith('SELECT "testapp_item"."id" AS "pk"')
    ]
    # 16 rows in chunks of 4: four full chunks, each known by one key (OFFSET 3), then
    # one look past the last; the objects mode also reads each chunk's keys.
    assert sum("LIMIT 1 OFFSET 3" in sql for sql in key_reads) == 5
    assert len(key_reads) == (6 if mode == "queryset" else 10)


def test_the_fenced_write_stores_what_the_orm_would_and_only_while_held(user: Any) -> None:
    import datetime
    from decimal import Decimal

    task = BulkTask.objects.create(operation="update", owner=user, status="running", worker="w:1")
    checkpoint = {
        "state": {"after": Decimal("12.50"), "day": datetime.date(2026, 12, 8)},
        "counts": {"processed": 3},
    }

    cancelled = lifecycle.write(
        task,
        unless_cancelled=True,
        checkpoint=checkpoint,
        processed=3,
        message="Halfway",
        message_data={"id": "halfway", "params": {"n": 3}},
        result_file="bulkops/results/report.xlsx",
    )

    assert cancelled is False
    task.refresh_from_db()
    assert task.checkpoint == {
        "state": {"after": "12.50", "day": "2026-12-08"},
        "counts": {"processed": 3},
    }
    assert (task.processed, task.message, task.message_data) == (
        3,
        "Halfway",
        {"id": "halfway", "params": {"n": 3}},
    )
    assert task.result_file.name == "bulkops/results/report.xlsx"

    BulkTask.objects.filter(pk=task.pk).update(cancel_requested=True)
    assert lifecycle.write(task, unless_cancelled=True, processed=4) is True
    task.refresh_from_db()
    assert task.processed == 4, "the chunk's write still lands when a cancel is requested"

    BulkTask.objects.filter(pk=task.pk).update(worker="elsewhere:2")
    with pytest.raises(lifecycle.TaskLeaseLost):
        lifecycle.write(task, processed=5)
    task.refresh_from_db()
    assert task.processed == 4
