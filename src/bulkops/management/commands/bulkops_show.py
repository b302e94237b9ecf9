from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulkops import cli
from bulkops.models import BulkTask


class Command(BaseCommand):
    help = "Show a task by id: status or outcome, counts, message and its first row errors."
    follow = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("task_id")
        parser.add_argument("--interval", type=float, default=0.5)

    def handle(self, *args: Any, task_id: str, interval: float, **options: Any) -> None:
        try:
            task = BulkTask.objects.get(pk=task_id)
        except (BulkTask.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"No task {task_id!r}.") from None
        if self.follow:
            task = cli.follow(task, self.stderr._out, interval)
        self.stdout.write(cli.summary(task))
        if self.follow:
            raise SystemExit(cli.exit_code(task))
