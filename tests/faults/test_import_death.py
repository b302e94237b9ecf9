"""SIGKILL the worker in the middle of a 100,000-row import, start it again: every row
exactly once. Ticket has no unique field, so a chunk written twice would show."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db.models import Count

from tests.faults.conftest import assert_dead, holder, wait_finished, wait_processed
from tests.tabular.models_app.models import Ticket

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROWS = 100_000


def tickets_csv(rows: int) -> bytes:
    lines = ["Title,Seats"] + [f"Ticket {i:06d},{i % 400 + 1}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_import_killed_mid_file_resumes_with_every_row_once(scenario: Any) -> None:
    run = scenario("celery-rabbitmq")
    task = run.submit(
        "import",
        model=Ticket,
        params={"filename": "tickets.csv", "mode": "create", "chunk_size": 500},
        input_file=ContentFile(tickets_csv(ROWS), name="tickets.csv"),
    )
    wait_processed(task, 5_000, timeout=120)
    held_by = holder(task)

    run.worker.kill()
    assert_dead(held_by)
    task.refresh_from_db()
    committed = task.processed
    assert task.status == "running" and 5_000 <= committed < ROWS
    assert Ticket.objects.count() == committed, "the row count matches the committed chunks"
    run.restart()

    task = wait_finished(task, timeout=300)

    assert task.status == "succeeded", task.message
    assert task.attempts == 2
    assert (task.processed, task.failed_count) == (ROWS, 0)
    assert Ticket.objects.count() == ROWS
    duplicated = Ticket.objects.values("title").annotate(n=Count("pk")).filter(n__gt=1)
    assert not duplicated.exists(), list(duplicated[:5])
