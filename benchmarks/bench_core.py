"""Core rows: time from submit to running per backend, and bulkops' overhead on a
chunked ``QuerySet.update()`` against the same loop written by hand."""

from __future__ import annotations

import argparse
import statistics
import uuid
from typing import Any

from django.db import connection, transaction
from django.test import override_settings

import bulkops
from benchmarks.harness import Report, percentile, timed
from bulkops.models import BulkTask
from tests import services
from tests.settings import CHECKOUT
from tests.testapp.models import Item

JOBS_PER_BACKEND = 20
CHUNK = 1000


def run(report: Report, args: argparse.Namespace) -> None:
    latency_rows(report, jobs=5 if args.quick else JOBS_PER_BACKEND)
    overhead_rows(report, rows=args.rows)
    lean_rows(report, rows=args.rows)


def _backends(db_name: str) -> list[tuple[str, dict[str, Any], services.Worker | None]]:
    bench = {"DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    queue = f"bulkops-bench-{uuid.uuid4().hex[:6]}"
    redis_env = services.worker_env(db_name, BULKOPS_Q_BROKER="redis", **bench)
    found: list[tuple[str, dict[str, Any], services.Worker | None]] = []
    if services.redis_up():
        worker = services.celery_worker(db_name, services.REDIS_URL, queue)
        worker.env.update(bench)
        found.append(
            (
                "celery (redis)",
                {
                    "BACKEND": "bulkops.backends.celery.CeleryBackend",
                    "OPTIONS": {"queue": queue, "app": "tests.celery_app.redis_app"},
                },
                worker,
            )
        )
    if services.rabbitmq_up():
        worker = services.celery_worker(db_name, services.RABBITMQ_URL, queue)
        worker.env.update(bench)
        found.append(
            (
                "celery (rabbitmq)",
                {
                    "BACKEND": "bulkops.backends.celery.CeleryBackend",
                    "OPTIONS": {"queue": queue, "app": "tests.celery_app.rabbitmq_app"},
                },
                worker,
            )
        )
    worker = services.q_cluster(db_name, "orm")
    worker.env.update(bench)
    found.append(
        (
            "django-q2 (orm)",
            {"BACKEND": "bulkops.backends.django_q.DjangoQBackend", "OPTIONS": {}},
            worker,
        )
    )
    if services.redis_up():
        worker = services.q_cluster(db_name, "redis")
        worker.env = redis_env
        found.append(
            (
                "django-q2 (redis)",
                {
                    "BACKEND": "bulkops.backends.django_q.DjangoQBackend",
                    "OPTIONS": {"broker": "django_q.brokers.redis_broker.Redis"},
                },
                worker,
            )
        )
    worker = services.db_worker(db_name, f"bulkops-{CHECKOUT}")
    worker.env.update(bench)
    found.append(
        (
            "django.tasks (db_worker)",
            {
                "BACKEND": "bulkops.backends.tasks.DjangoTasksBackend",
                "OPTIONS": {"queue_name": f"bulkops-{CHECKOUT}"},
            },
            worker,
        )
    )
    found.append(
        (
            "immediate",
            {"BACKEND": "bulkops.backends.immediate.ImmediateBackend", "OPTIONS": {}},
            None,
        )
    )
    return found


def latency_rows(report: Report, jobs: int) -> None:
    db_name = str(connection.settings_dict["NAME"])
    for label, config, worker in _backends(db_name):
        if worker is not None:
            worker.start()
        try:
            waits = []
            with override_settings(BULKOPS={**config, "SYNC_THRESHOLD": 0}):
                for _ in range(jobs):
                    task = bulkops.submit("tests.noop")
                    task = services.wait_for(
                        lambda t=task: _finished(t), timeout=60, interval=0.005
                    )
                    waits.append((task.started_at - task.created_at).total_seconds())
        finally:
            if worker is not None:
                worker.stop()
        report.add(
            "submit → running",
            f"{label} p50",
            percentile(waits, 50),
            "s",
            note=f"{jobs} jobs, one at a time",
        )
        report.add("submit → running", f"{label} p95", percentile(waits, 95), "s")


def _finished(task: BulkTask) -> BulkTask | None:
    task.refresh_from_db()
    return task if task.is_finished else None


def overhead_rows(report: Report, rows: int) -> None:
    Item.objects.all().delete()
    Item.objects.bulk_create((Item(name=f"item {i}") for i in range(rows)), batch_size=10_000)
    counter = iter(range(1, 10_000))

    def bare_loop() -> None:
        value = next(counter)
        after = None
        queryset = Item.objects.order_by("pk")
        while True:
            page = queryset.filter(pk__gt=after) if after is not None else queryset
            pks = list(page.values_list("pk", flat=True)[:CHUNK])
            if not pks:
                break
            # The rows of the chunk by pk range, as bulkops' update selects them.
            with transaction.atomic():
                Item.objects.filter(pk__gte=pks[0], pk__lte=pks[-1]).update(value=value)
            after = pks[-1]

    def with_bulkops() -> None:
        value = next(counter)
        with override_settings(
            BULKOPS={
                "BACKEND": "bulkops.backends.immediate.ImmediateBackend",
                "SYNC_THRESHOLD": 0,
                "CHUNK_SIZE": CHUNK,
            }
        ):
            # chunk_size with the job keeps every chunk at CHUNK rows, like the loop's.
            task = bulkops.submit(
                "update",
                queryset=Item.objects.all(),
                params={"values": {"value": value}, "chunk_size": CHUNK},
            )
        task.refresh_from_db()
        assert task.status == "succeeded" and task.succeeded_count == rows, task.message

    bare, ours = [], []
    for _ in range(3):  # interleaved, so drift on the machine hits both sides alike
        bare.append(timed(bare_loop))
        ours.append(timed(with_bulkops))
    report.compare(
        "overhead",
        f"bulkops update, {rows:,} rows, chunks of {CHUNK}",
        statistics.median(ours),
        baseline_name="same pk-range chunked loop without bulkops",
        baseline_seconds=statistics.median(bare),
        higher_is_better=False,
        at_most=1.05,
        note="ratio = bulkops / bare (progress, checkpoints, cancel checks included); median of 3",
    )
    Item.objects.all().delete()


def lean_rows(report: Report, rows: int) -> None:
    """A lean table (the tests' ``Item``: a name, a number, a code; no index but the
    primary key), where one chunk's UPDATE takes milliseconds and its COMMIT, a flush
    of the write-ahead log, costs as much: chunks sized by time against fixed ones."""
    Item.objects.all().delete()
    Item.objects.bulk_create((Item(name=f"item {i}") for i in range(rows)), batch_size=10_000)
    counter = iter(range(1, 10_000))

    def one_update() -> None:
        with transaction.atomic():
            Item.objects.update(value=next(counter))

    def with_bulkops(chunk: int | None) -> None:
        params: dict[str, Any] = {"values": {"value": next(counter)}}
        if chunk is not None:
            params["chunk_size"] = chunk
        with override_settings(
            BULKOPS={"BACKEND": "bulkops.backends.immediate.ImmediateBackend", "SYNC_THRESHOLD": 0}
        ):
            task = bulkops.submit("update", queryset=Item.objects.all(), params=params)
        task.refresh_from_db()
        assert task.status == "succeeded" and task.succeeded_count == rows, task.message

    plain: list[float] = []
    ours: dict[int | None, list[float]] = {None: [], CHUNK: []}
    for _ in range(3):
        plain.append(timed(one_update))
        for chunk in ours:
            ours[chunk].append(timed(lambda chunk=chunk: with_bulkops(chunk)))  # type: ignore[misc]
    for chunk, seconds in ours.items():
        label = "chunks sized by time" if chunk is None else f"chunks of {chunk:,}"
        report.compare(
            "lean table",
            f"bulkops update, {rows:,} rows, {label}",
            statistics.median(seconds),
            baseline_name="one QuerySet.update()",
            baseline_seconds=statistics.median(plain),
            at_least=0.7,
            note="ratio = QuerySet.update() time / bulkops time; median of 3",
        )
    Item.objects.all().delete()
