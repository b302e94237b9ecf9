"""Sharding (docs/sharding.md): one task split into shards, run here one by one with
``runner.run`` as workers would, in any order, twice, cancelled, failed and retried."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db.models import Count

import bulkops
from bulkops import lifecycle, runner
from bulkops.models import BulkTask
from bulkops.operations.imports import limits_from_settings
from bulkops.tabular import open_table
from bulkops.tabular.stored import write_table
from tests.tabular.models_app.models import Ticket
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db

ROWS = 100


@pytest.fixture
def sharding(settings: Any, dummy_backend: list[Any]) -> list[Any]:
    settings.BULKOPS = {
        **settings.BULKOPS,
        "SHARDING": True,
        "SHARDS": 4,
        "SHARD_MIN_ROWS": 10,
        "SYNC_THRESHOLD": 0,
        "PROGRESS_INTERVAL": 0,
    }
    return dummy_backend


@pytest.fixture
def many_items() -> list[Item]:
    Item.objects.bulk_create(Item(name=f"i{i}", value=0) for i in range(ROWS))
    return list(Item.objects.order_by("pk"))


def submit(name: str, capture: Any, **kwargs: Any) -> BulkTask:
    with capture(execute=True):
        return bulkops.submit(name, **kwargs)


def shards_of(task: BulkTask) -> list[BulkTask]:
    return list(BulkTask.objects.filter(shard_of=task).order_by("shard_index"))


def test_sharding_is_off_by_default(
    many_items: list[Item],
    dummy_backend: list[Any],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SHARD_MIN_ROWS": 10, "SYNC_THRESHOLD": 0}
    task = submit(
        "tests.sharded_increment", django_capture_on_commit_callbacks, queryset=Item.objects.all()
    )
    assert runner.run(task.pk) == "succeeded"
    assert not BulkTask.objects.filter(shard_of__isnull=False).exists()
    assert set(Item.objects.values_list("value", flat=True)) == {1}


def test_an_operation_that_does_not_declare_it_is_not_split(
    many_items: list[Item], sharding: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "tests.increment",
        django_capture_on_commit_callbacks,
        queryset=Item.objects.all(),
        params={"delay": 0},
    )
    assert runner.run(task.pk) == "succeeded"
    assert not shards_of(task)


def test_a_sharded_job_sums_its_shards_in_any_order_and_duplicates_are_no_ops(
    many_items: list[Item], sharding: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "tests.sharded_increment",
        django_capture_on_commit_callbacks,
        queryset=Item.objects.all(),
        params={"chunk_size": 7},
    )
    assert runner.run(task.pk) == "running"
    shards = shards_of(task)
    assert len(shards) == 4
    assert sharding == [task.pk, *(s.pk for s in shards)]
    assert sum(s.total or 0 for s in shards) == ROWS
    assert runner.run(task.pk) is None  # the parent delivered twice: nothing happens
    assert not BulkTask.objects.visible_to(task.owner).filter(shard_of=task).exists()

    seen = []
    for shard in reversed(shards):
        assert runner.run(shard.pk) == "succeeded"
        assert runner.run(shard.pk) is None  # a shard delivered twice: nothing happens
        task.refresh_from_db()
        seen.append(task.processed)
    assert seen == sorted(seen)
    assert task.status == task.outcome == "succeeded"
    assert (task.total, task.processed, task.succeeded_count, task.failed_count) == (
        ROWS,
        ROWS,
        ROWS,
        0,
    )
    assert task.result == {"incremented": ROWS}
    assert set(Item.objects.values_list("value", flat=True)) == {1}


def test_cancel_reaches_every_shard_and_the_parent_ends_cancelled(
    many_items: list[Item], sharding: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "tests.sharded_increment", django_capture_on_commit_callbacks, queryset=Item.objects.all()
    )
    runner.run(task.pk)
    first, *rest = shards_of(task)
    running = lifecycle.claim(first.pk)
    assert running is not None

    assert bulkops.cancel(task)
    statuses = [s.status for s in shards_of(task)]
    assert statuses == ["running", "cancelled", "cancelled", "cancelled"]
    assert BulkTask.objects.get(pk=first.pk).cancel_requested
    task.refresh_from_db()
    assert task.status == "running"  # until its running shard stops at its next chunk

    lifecycle.finish(running, "cancelled", message="Cancelled.")
    task.refresh_from_db()
    assert task.status == task.outcome == "cancelled"


def test_retry_reruns_only_the_shards_that_did_not_finish(
    many_items: list[Item], sharding: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "tests.sharded_increment",
        django_capture_on_commit_callbacks,
        queryset=Item.objects.all(),
        params={"chunk_size": 5},
    )
    runner.run(task.pk)
    shards = shards_of(task)
    for shard in shards[:3]:
        runner.run(shard.pk)
    # The last shard's worker is killed after one chunk: a dead pid holds it.
    last = lifecycle.claim(shards[3].pk)
    assert last is not None
    part = list(Item.objects.filter(pk__gte=shards[3].params["shard"]["pk"][0]).order_by("pk"))
    Item.objects.filter(pk__in=[i.pk for i in part[:5]]).update(value=1)
    BulkTask.objects.filter(pk=last.pk).update(
        worker=f"{last.worker.split(':')[0]}:999999999:0",
        processed=5,
        succeeded_count=5,
        checkpoint={
            "state": {"after_pk": part[4].pk},
            "counts": {"processed": 5, "succeeded_count": 5},
        },
    )
    task.refresh_from_db()
    assert task.is_stalled and lifecycle.holder_is_gone(task)
    assert lifecycle.mark_stalled(task)
    task.refresh_from_db()
    assert task.status == "failed" and task.message.startswith("Part 4 of 4 failed: Stalled")

    sharding.clear()
    with django_capture_on_commit_callbacks(execute=True):
        bulkops.retry(task)
    assert runner.run(task.pk) == "running"
    assert sharding == [task.pk, last.pk]  # only the unfinished shard is queued again
    assert runner.run(last.pk) == "succeeded"
    task.refresh_from_db()
    assert task.status == "succeeded", task.message
    assert (task.processed, task.succeeded_count) == (ROWS, ROWS)
    assert set(Item.objects.values_list("value", flat=True)) == {1}


def test_sharded_update_and_delete(
    many_items: list[Item], sharding: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    task = submit(
        "update",
        django_capture_on_commit_callbacks,
        queryset=Item.objects.filter(pk__gt=many_items[9].pk),
        params={"values": {"value": 7}, "chunk_size": 6},
    )
    runner.run(task.pk)
    for shard in shards_of(task):
        runner.run(shard.pk)
    task.refresh_from_db()
    assert (task.status, task.processed, task.succeeded_count) == ("succeeded", 90, 90)
    assert task.result == {"updated": 90}
    assert dict(Item.objects.values_list("value").annotate(n=Count("pk"))) == {0: 10, 7: 90}

    task = submit(
        "delete",
        django_capture_on_commit_callbacks,
        queryset=Item.objects.filter(value=7),
        params={"chunk_size": 6},
    )
    runner.run(task.pk)
    assert len(shards_of(task)) == 4
    for shard in shards_of(task):
        runner.run(shard.pk)
    task.refresh_from_db()
    assert (task.status, task.processed, task.succeeded_count) == ("succeeded", 90, 90)
    assert Item.objects.count() == 10


def stored_csv(rows: list[str]) -> ContentFile[bytes]:
    data = ("Title,Seats\n" + "\n".join(rows) + "\n").encode()
    out = io.BytesIO()
    with open_table(io.BytesIO(data), filename="tickets.csv", limits=limits_from_settings()) as t:
        write_table(t, out)
    return ContentFile(out.getvalue(), name="rows.bulkops-rows")


def test_a_sharded_import_keeps_file_row_numbers_in_its_errors(
    sharding: list[Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SHARD_MIN_ROWS": 1000}
    rows = [f"Ticket {i:05d},{'x' if i % 997 == 0 else i % 400 + 1}" for i in range(4500)]
    task = submit(
        "import",
        django_capture_on_commit_callbacks,
        model=Ticket,
        params={"filename": "tickets.csv", "mode": "create", "stored": True, "chunk_size": 300},
        input_file=stored_csv(rows),
    )
    assert runner.run(task.pk) == "running"
    shards = shards_of(task)
    assert [s.params["shard"]["rows"] for s in shards] == [
        [0, 1125],
        [1125, 2250],
        [2250, 3375],
        [3375, 4500],
    ]
    for shard in shards:
        assert runner.run(shard.pk) == "succeeded"
    task.refresh_from_db()
    bad = [i for i in range(4500) if i % 997 == 0]
    assert task.status == "succeeded" and task.outcome == "partial"
    assert (task.total, task.processed, task.failed_count) == (4500, 4500, len(bad))
    assert task.result["created"] == 4500 - len(bad)
    # File row numbers: the header is row 1, so data row i is on row i + 2.
    assert list(task.errors.values_list("row", flat=True)) == [i + 2 for i in bad]
    assert Ticket.objects.count() == 4500 - len(bad)
    assert not Ticket.objects.values("title").annotate(n=Count("pk")).filter(n__gt=1).exists()

    # The error report: every failed row of every shard, in file order, as uploaded,
    # with its reason; the shards have no report of their own.
    assert str(task.result_file.name).endswith("tickets-errors.xlsx")
    assert task.result["error_report"] == task.result_file.name
    assert not any(s.result_file for s in shards_of(task))
    with open_table(io.BytesIO(task.result_file.read()), filename="report.xlsx") as report:
        assert report.headers[:2] == ["Title", "Seats"]
        got = list(report.rows())
    assert [values[0] for _, values in got] == [f"Ticket {i:05d}" for i in bad]
    assert all(values[1] == "x" for _, values in got)
    assert all("Seats" in str(values[2]) for _, values in got), got[0]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_sharded_export_joins_its_parts_in_order_into_one_file(
    sharding: list[Any],
    many_items: list[Item],
    django_capture_on_commit_callbacks: Any,
    file_format: str,
) -> None:
    Item.objects.filter(pk__in=[i.pk for i in many_items[::3]]).update(value=7)
    task = submit(
        "export",
        django_capture_on_commit_callbacks,
        queryset=Item.objects.all(),
        params={"format": file_format, "fields": ["name", "value"]},
    )
    assert runner.run(task.pk) == "running"
    shards = shards_of(task)
    assert len(shards) == 4
    for shard in reversed(shards):  # parts end in any order; the file keeps pk order
        assert runner.run(shard.pk) == "succeeded"
    task.refresh_from_db()
    assert task.status == task.outcome == "succeeded", task.message
    assert (task.total, task.processed, task.succeeded_count) == (ROWS, ROWS, ROWS)
    assert task.result["rows"] == ROWS and task.result["format"] == file_format
    assert str(task.result_file.name).endswith(f".{file_format}")

    with open_table(
        io.BytesIO(task.result_file.read()),
        filename=f"export.{file_format}",
        limits=limits_from_settings(),
    ) as table:
        assert list(table.headers) == ["Name", "Value"]
        got = [list(values) for _, values in table.rows()]
    expected = [[i.name, 7 if n % 3 == 0 else 0] for n, i in enumerate(many_items)]
    # A workbook gives numbers back as floats.
    assert [[name, float(str(value))] for name, value in got] == expected
    # The parts were for the join only: nothing of them is left to download.
    assert not any(s.result_file for s in shards_of(task))
