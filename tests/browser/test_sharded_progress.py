"""A sharded job's progress bar in Chromium: two workers, one bar that only moves forward."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections

import bulkops
from bulkops import runner
from bulkops.models import BulkTask
from tests.browser.conftest import log_in
from tests.testapp.models import Item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 4_000

# Every 50 ms, the bar's value as the page shows it (the partial is swapped at each poll).
RECORD = """() => {
    window.seen = [];
    setInterval(() => {
        const bar = document.querySelector('[role=progressbar]');
        if (bar) window.seen.push(Number(bar.getAttribute('aria-valuenow')));
    }, 50);
}"""


def worker(shards: list[Any]) -> None:
    try:
        for pk in shards:
            runner.run(pk)
    finally:
        connections.close_all()


def test_a_sharded_jobs_percent_moves_forward_only(
    page: Any, live_server: Any, user: Any, settings: Any
) -> None:
    settings.BULKOPS = {
        **settings.BULKOPS,
        "BACKEND": "bulkops.backends.dummy.DummyBackend",
        "SHARDING": True,
        "SHARDS": 4,
        "SHARD_MIN_ROWS": 500,
        "POLL_INTERVAL": 0.2,
        "PROGRESS_INTERVAL": 0.1,
    }
    Item.objects.bulk_create(Item(name=f"i{i}", value=0) for i in range(ROWS))
    task = bulkops.submit(
        "tests.sharded_increment",
        user=user,
        queryset=Item.objects.all(),
        params={"chunk_size": 100, "delay": 0.1},
        check_permission=False,
    )
    assert runner.run(task.pk) == "running"
    shards = list(
        BulkTask.objects.filter(shard_of=task).order_by("shard_index").values_list("pk", flat=True)
    )
    assert len(shards) == 4
    log_in(page, live_server, user)
    page.goto(task.get_absolute_url())
    page.evaluate(RECORD)

    # Two workers, two shards each, interleaved as a queue would hand them out.
    threads = [threading.Thread(target=worker, args=(shards[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    page.wait_for_function("window.seen.length && window.seen[window.seen.length - 1] === 100")

    seen = page.evaluate("window.seen")
    task.refresh_from_db()
    assert (task.status, task.processed) == ("succeeded", ROWS)
    assert seen == sorted(seen), f"the bar moved back: {seen}"
    steps = sorted(set(seen))
    assert len(steps) >= 6, f"the bar jumped instead of moving: {steps}"
    assert max(b - a for a, b in zip(steps, steps[1:], strict=False)) <= 25, steps
