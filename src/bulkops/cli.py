"""What the management commands share: parsing ``k=v``, exit codes, the live progress bar.

The bar is drawn by rich: it is well kept, has no compiled parts, redraws one line in a
terminal and, when the output is a file or a cron mail, prints nothing until the end
instead of a wall of carriage returns (tqdm would need that handled by hand).
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

from django.core.management.base import CommandError

from bulkops.models import BulkTask

# What a finished task amounts to -> the process exit code. 1 and 2 stay with Django
# and argparse (bad arguments, refused submit).
EXIT_CODES: dict[str, int] = {
    BulkTask.Outcome.SUCCEEDED: 0,
    BulkTask.Outcome.PARTIAL: 3,
    BulkTask.Outcome.FAILED: 4,
    BulkTask.Outcome.CANCELLED: 5,
}
STILL_RUNNING = 6


def exit_code(task: BulkTask) -> int:
    if not task.is_finished:
        return STILL_RUNNING
    return EXIT_CODES.get(task.outcome, EXIT_CODES[BulkTask.Outcome.FAILED])


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, Any]:
    """``["city=Lima", "active=true", "ids=[1,2]"]`` -> a dict; JSON values are decoded."""
    result: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"{what} {pair!r} must look like name=value.")
        try:
            result[key] = json.loads(text)
        except ValueError:
            result[key] = text
    return result


def summary(task: BulkTask) -> str:
    total = "?" if task.total is None else str(task.total)
    state = task.get_outcome_display() if task.is_finished else task.get_status_display()
    lines = [
        f"{task.pk}  {task}",
        f"  {state}: {task.processed}/{total} processed, {task.succeeded_count} succeeded, "
        f"{task.failed_count} failed, {task.skipped_count} skipped",
    ]
    if task.message:
        lines.append(f"  {task.message}")
    errors = list(task.errors.all()[:5]) if task.failed_count else []
    lines.extend(f"  - {error}" for error in errors)
    return "\n".join(lines)


def follow(task: BulkTask, stream: IO[str] | Any = None, interval: float = 0.5) -> BulkTask:
    """Redraw a progress bar from the task row until the task is finished."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(file=stream or sys.stderr)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[state]}"),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task(str(task)[:40], total=task.total, state=task.status)
        while True:
            progress.update(
                bar,
                completed=task.processed,
                total=task.total,
                state=task.stage or task.get_status_display(),
            )
            if task.is_finished:
                progress.update(bar, state=task.get_outcome_display())
                return task
            time.sleep(interval)
            task.refresh_from_db()
