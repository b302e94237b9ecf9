from __future__ import annotations

from bulkops.management.commands import bulkops_show


class Command(bulkops_show.Command):
    help = (
        "Follow a task by id with a progress bar until it finishes; the exit code tells the "
        "outcome (0 succeeded, 3 finished with failed rows, 4 failed, 5 cancelled)."
    )
    follow = True
