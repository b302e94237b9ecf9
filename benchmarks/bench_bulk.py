"""Bulk delete and bulk update rows: bulkops against one ``QuerySet`` call and against
the per-object loop a view would otherwise run.

The model is the tests' ``Customer``: a unique email; PROTECT, RESTRICT, CASCADE and
SET_NULL relations and a multi-table child, so a delete has real work to do on every
relation kind, and no delete signal receivers (the common case, which lets bulkops skip
Django's collector; with receivers it takes the collector's path). The per-object loops
are timed on a sample and scaled to the full row count: running them on 100,000 rows
would take minutes and say nothing more.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from django.db import transaction
from django.test import override_settings

import bulkops
from benchmarks.harness import Report, timed
from bulkops.models import BulkTask
from tests.testapp.models import Customer

SAMPLE = 2_000
REPEAT = 3
# Default chunking (CHUNK_SIZE 1,000, grown by time up to MAX_CHUNK_SIZE), then fixed
# sizes as a job's chunk_size asks: the default row count, and a larger one.
CHUNKS: tuple[int | None, ...] = (None, 1_000, 5_000)


def run(report: Report, args: argparse.Namespace) -> None:
    rows = args.rows
    sample = min(SAMPLE, rows)
    delete_rows(report, rows, sample)
    update_rows(report, rows, sample)


def seed(rows: int) -> None:
    BulkTask.objects.all().delete()
    Customer.objects.all().delete()
    Customer.objects.bulk_create(
        (
            Customer(name=f"Customer {i}", email=f"c{i}@example.com", city="Lisbon", country="PT")
            for i in range(rows)
        ),
        batch_size=10_000,
    )


def run_task(name: str, chunk: int | None = 1_000, **params: Any) -> BulkTask:
    if chunk is not None:
        params["chunk_size"] = chunk
    with override_settings(
        BULKOPS={"BACKEND": "bulkops.backends.immediate.ImmediateBackend", "SYNC_THRESHOLD": 0}
    ):
        task = bulkops.submit(name, queryset=Customer.objects.all(), params=params)
    task.refresh_from_db()
    assert task.status == "succeeded", task.message
    return task


def chunks_label(chunk: int | None) -> str:
    return "chunks sized by time" if chunk is None else f"chunks of {chunk:,}"


def delete_rows(report: Report, rows: int, sample: int) -> None:
    ours: dict[int | None, list[float]] = {chunk: [] for chunk in CHUNKS}
    plain: list[float] = []
    for _ in range(REPEAT):  # interleaved: machine drift hits both sides alike
        for chunk in CHUNKS:
            seed(rows)
            ours[chunk].append(timed(lambda chunk=chunk: run_task("delete", chunk)))  # type: ignore[misc]
            assert not Customer.objects.exists()
        seed(rows)
        plain.append(timed(lambda: Customer.objects.all().delete()))
    for chunk in CHUNKS:
        report.compare(
            "bulk delete",
            f"bulkops delete, {rows:,} rows, {chunks_label(chunk)}",
            statistics.median(ours[chunk]),
            baseline_name="one QuerySet.delete()",
            baseline_seconds=statistics.median(plain),
            at_least=0.7,
            note=f"ratio = QuerySet.delete() time / bulkops time; median of {REPEAT}",
        )
    bulkops_seconds = statistics.median(ours[1_000])

    seed(sample)

    def per_object() -> None:
        for customer in list(Customer.objects.all()):
            with transaction.atomic():
                customer.delete()

    scaled = timed(per_object) * rows / sample
    report.compare(
        "bulk delete",
        f"bulkops delete (chunks of 1,000) vs obj.delete() loop, {rows:,} rows",
        bulkops_seconds,
        baseline_name="obj.delete() per row",
        baseline_seconds=scaled,
        at_least=50,
        note=f"loop timed on {sample:,} rows and scaled x{rows / sample:g}",
    )


def update_rows(report: Report, rows: int, sample: int) -> None:
    seed(rows)
    counter = iter(range(1_000_000))
    ours: dict[int | None, list[float]] = {chunk: [] for chunk in CHUNKS}
    plain: list[float] = []
    for _ in range(REPEAT):
        for chunk in CHUNKS:
            ours[chunk].append(
                timed(
                    lambda chunk=chunk: run_task(  # type: ignore[misc]
                        "update", chunk, values={"city": f"City {next(counter)}"}
                    )
                )
            )
        plain.append(timed(lambda: Customer.objects.update(city=f"City {next(counter)}")))
    for chunk in CHUNKS:
        report.compare(
            "bulk update",
            f"bulkops update, {rows:,} rows, {chunks_label(chunk)}",
            statistics.median(ours[chunk]),
            baseline_name="one QuerySet.update()",
            baseline_seconds=statistics.median(plain),
            at_least=0.7,
            note=f"ratio = QuerySet.update() time / bulkops time; median of {REPEAT}",
        )
    bulkops_seconds = statistics.median(ours[1_000])

    def per_object() -> None:
        for customer in list(Customer.objects.all()[:sample]):
            customer.city = "Faro"
            customer.full_clean()
            customer.save()

    scaled = timed(per_object) * rows / sample
    report.compare(
        "bulk update",
        f"bulkops update (chunks of 1,000) vs full_clean(); save() loop, {rows:,} rows",
        bulkops_seconds,
        baseline_name="full_clean(); save() per row",
        baseline_seconds=scaled,
        at_least=50,
        note=f"loop timed on {sample:,} rows and scaled x{rows / sample:g}",
    )
    Customer.objects.all().delete()
