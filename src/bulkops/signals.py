from __future__ import annotations

from django.dispatch import Signal

# Sent with ``task`` when a worker has claimed a task and is about to run it.
task_started = Signal()
# Sent with ``task`` once the task has reached succeeded, failed or cancelled.
task_finished = Signal()
