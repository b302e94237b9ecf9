from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from bulkops import api
from bulkops.models import BulkTask


class Command(BaseCommand):
    help = (
        "Find running tasks whose worker stopped sending heartbeats. By default mark them "
        "failed (stalled); with --resume queue them again to resume from their checkpoint."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--resume", action="store_true", help="Queue stalled tasks again.")

    def handle(self, *args: Any, resume: bool, **options: Any) -> None:
        stalled = list(BulkTask.objects.stalled())
        for task in stalled:
            if resume:
                api.retry(task)
                self.stdout.write(f"Resumed {task.pk} ({task}).")
                continue
            if api.mark_stalled(task):
                self.stdout.write(f"Marked {task.pk} ({task}) as stalled.")
        self.stdout.write(f"{len(stalled)} stalled tasks.")
