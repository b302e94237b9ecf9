from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from bulkops.models import BulkTask

pytestmark = pytest.mark.django_db

Outcome = BulkTask.Outcome


@pytest.mark.parametrize(
    ("status", "succeeded", "failed", "skipped", "outcome"),
    [
        ("succeeded", 10, 0, 0, Outcome.SUCCEEDED),
        ("succeeded", 0, 0, 4, Outcome.SUCCEEDED),
        ("succeeded", 0, 0, 0, Outcome.SUCCEEDED),
        ("succeeded", 9, 1, 0, Outcome.PARTIAL),
        ("succeeded", 0, 2, 3, Outcome.PARTIAL),
        ("succeeded", 0, 7000, 0, Outcome.FAILED),
        ("failed", 5, 0, 0, Outcome.FAILED),
        ("cancelled", 5, 1, 0, Outcome.CANCELLED),
    ],
)
def test_outcome_never_says_succeeded_when_a_row_failed(
    status: str, succeeded: int, failed: int, skipped: int, outcome: str
) -> None:
    assert (
        BulkTask.outcome_of(status, succeeded=succeeded, failed=failed, skipped=skipped) == outcome
    )


def test_migration_gives_existing_finished_tasks_their_outcome() -> None:
    rows: list[tuple[dict[str, Any], str]] = [
        ({"status": "succeeded", "succeeded_count": 3}, "succeeded"),
        ({"status": "succeeded", "succeeded_count": 3, "failed_count": 1}, "partial"),
        ({"status": "succeeded", "skipped_count": 2, "failed_count": 1}, "partial"),
        ({"status": "succeeded", "failed_count": 7000}, "failed"),
        ({"status": "failed", "succeeded_count": 3}, "failed"),
        ({"status": "cancelled"}, "cancelled"),
        ({"status": "running"}, ""),
        ({"status": "pending"}, ""),
    ]
    tasks = [BulkTask.objects.create(operation="update", **fields) for fields, _ in rows]
    migration = importlib.import_module("bulkops.migrations.0004_10_task_outcome")

    # The data step only reads the editor's connection; a schema editor proper cannot
    # open inside the test's transaction on SQLite.
    migration.set_outcomes(apps, SimpleNamespace(connection=connection))

    assert [BulkTask.objects.get(pk=t.pk).outcome for t in tasks] == [o for _, o in rows]
