from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from bulkops.models import BulkTask, BulkTaskError

pytestmark = pytest.mark.django_db


def test_cleanup_deletes_old_finished_tasks_with_errors_and_files(settings: Any) -> None:
    old = timezone.now() - timedelta(days=31)
    expired = BulkTask.objects.create(operation="export", status="succeeded", finished_at=old)
    expired.result_file.save("old.csv", ContentFile(b"x"), save=True)
    path = expired.result_file.path
    BulkTaskError.objects.bulk_create(
        BulkTaskError(task=expired, row=i, message="bad") for i in range(1200)
    )
    recent = BulkTask.objects.create(
        operation="export", status="succeeded", finished_at=timezone.now()
    )
    running = BulkTask.objects.create(operation="update", status="running")
    out = StringIO()

    call_command("bulkops_cleanup", "--batch-size", "1", stdout=out)

    assert set(BulkTask.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert not BulkTaskError.objects.exists()
    assert not expired.result_file.storage.exists(path)
    assert "Deleted 1 tasks and 1 files older than 30 days." in out.getvalue()


def test_recover_marks_silent_running_tasks_stalled(settings: Any) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "HEARTBEAT_TIMEOUT": 60}
    silent = BulkTask.objects.create(
        operation="update",
        status="running",
        processed=7,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    alive = BulkTask.objects.create(
        operation="update", status="running", heartbeat_at=timezone.now()
    )
    out = StringIO()

    call_command("bulkops_recover", stdout=out)

    silent.refresh_from_db()
    alive.refresh_from_db()
    assert silent.status == "failed" and "(7 rows)" in silent.message
    assert alive.status == "running"
    assert "1 stalled tasks." in out.getvalue()
