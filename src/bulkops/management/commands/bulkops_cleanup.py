from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from bulkops.conf import settings
from bulkops.models import BulkTask, BulkTaskError


class Command(BaseCommand):
    help = "Delete finished tasks, their row errors and files after the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override RETENTION_DAYS.")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true")

    def handle(
        self, *args: Any, days: int | None, batch_size: int, dry_run: bool, **kw: Any
    ) -> None:
        days = settings.RETENTION_DAYS if days is None else days
        cutoff = timezone.now() - timedelta(days=days)
        # Shards go with their parent (cascade); they share its upload, which it deletes.
        expired = BulkTask.objects.filter(
            status__in=BulkTask.FINISHED, finished_at__lt=cutoff, shard_of__isnull=True
        )
        if dry_run:
            self.stdout.write(f"{expired.count()} tasks would be deleted.")
            return
        tasks = files = 0
        while True:
            batch = list(expired.order_by("pk")[:batch_size])
            if not batch:
                break
            for task in batch:
                for field in (task.input_file, task.result_file):
                    if field:
                        field.delete(save=False)
                        files += 1
            ids = [task.pk for task in batch]
            # Error rows go first, in their own statement, so a task with many errors
            # does not turn into one huge cascading delete.
            BulkTaskError.objects.filter(task_id__in=ids).delete()
            tasks += BulkTask.objects.filter(pk__in=ids).delete()[1].get(BulkTask._meta.label, 0)
        self.stdout.write(f"Deleted {tasks} tasks and {files} files older than {days} days.")
        # Uploads previewed on the import pages but never confirmed.
        from bulkops.views.imports import purge_staged_uploads

        staged = purge_staged_uploads()
        if staged:
            self.stdout.write(f"Deleted {staged} abandoned import uploads.")
