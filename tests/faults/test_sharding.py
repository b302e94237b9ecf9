"""One sharded job on two workers; one of them is SIGKILLed in the middle of a shard.

The end state must equal a run with no crash: every row applied once (an increment
shows a 2 where a chunk ran twice, an import without a unique field a duplicate row),
the parent ``succeeded`` with exact counts, the killed shard resumed from its checkpoint.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db.models import Count

from bulkops.models import BulkTask
from bulkops.operations.imports import limits_from_settings
from bulkops.tabular import open_table
from bulkops.tabular.stored import write_table
from tests import services
from tests.faults.conftest import assert_dead, wait_finished
from tests.tabular.models_app.models import Ticket
from tests.testapp.models import Item

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BACKENDS = ["celery-redis", "celery-rabbitmq", "django-q-orm"]
# 200,000 rows each, in 4 shards (all six runs took 150 s on two cores);
# BULKOPS_SHARD_FAULT_ROWS picks another size for a quicker local run.
ROWS = int(os.environ.get("BULKOPS_SHARD_FAULT_ROWS", "200000"))
UPDATE_ROWS = IMPORT_ROWS = ROWS
# The update sleeps this long per chunk of 250 rows, so a shard is still running when
# the test kills its worker: 800 chunks, 8 s of sleep over two workers.
UPDATE_DELAY = 0.1 * 20_000 / UPDATE_ROWS
SHARDS = 4


def two_workers(scenario: Any, kind: str, min_rows: int) -> tuple[Any, list[services.Worker]]:
    """Two worker processes on one queue, splitting jobs into SHARDS shards."""
    env = {"BULKOPS_SHARDING": "1", "BULKOPS_SHARDS": str(SHARDS)}
    env["BULKOPS_SHARD_MIN_ROWS"] = str(min_rows)
    if kind == "celery-redis":
        from tests.celery_app import redis_app

        redis_app.conf.broker_transport_options = {"visibility_timeout": 5}
        run = scenario(kind, BULKOPS_VISIBILITY_TIMEOUT="5", **env)
    elif kind == "django-q-orm":
        run = scenario(kind, BULKOPS_Q_RETRY="10", BULKOPS_Q_TIMEOUT="300", **env)
    else:  # RabbitMQ gives a dead consumer's unacknowledged messages back at once
        run = scenario(kind, **env)
    # The worker that plans the shards enqueues them: it needs the test's backend and queue.
    run.worker.stop()
    run.worker.env.update(
        BULKOPS_BACKEND=run.config["BACKEND"], BULKOPS_OPTIONS=json.dumps(run.config["OPTIONS"])
    )
    run.restart()
    argv = list(run.worker.argv)
    if "-n" in argv:  # a Celery node name of its own
        argv[argv.index("-n") + 1] = argv[argv.index("-n") + 1].replace("@", "-b@")
    second = services.Worker(run.worker.name + "-b", argv, run.worker.env, run.worker.ready)
    return run, [run.worker, second.start()]


def wait_shard_midway(task: BulkTask, at_least: int, timeout: float = 120) -> BulkTask:
    """A running shard that has committed ``at_least`` rows and is not near its end."""

    def midway() -> BulkTask | None:
        task.refresh_from_db()
        assert not task.is_finished, f"finished before the fault: {task.status} {task.message}"
        for shard in BulkTask.objects.filter(shard_of=task, status="running"):
            if at_least <= shard.processed <= (shard.total or 0) // 2:
                return shard
        return None

    return services.wait_for(midway, timeout=timeout, interval=0.01)


def kill_holder(shard: BulkTask, workers: list[services.Worker]) -> services.Worker:
    """SIGKILL the worker process group whose process holds ``shard``."""
    pid = int(shard.worker.split(":")[1])
    group = os.getpgid(pid)
    (worker,) = [w for w in workers if w.process is not None and w.process.pid == group]
    worker.kill()
    assert_dead(shard.worker)
    return worker


def check_killed_shard(shard: BulkTask) -> None:
    shard.refresh_from_db()
    assert shard.status == "succeeded", shard.message
    assert shard.attempts == 2
    assert shard.processed == shard.total


@pytest.mark.parametrize("kind", BACKENDS)
def test_sharded_update_with_a_worker_killed_mid_shard_applies_every_row_once(
    scenario: Any, kind: str
) -> None:
    run, workers = two_workers(scenario, kind, min_rows=UPDATE_ROWS // SHARDS)
    try:
        Item.objects.bulk_create(Item(name=f"i{i}", value=0) for i in range(UPDATE_ROWS))
        task = run.submit(
            "tests.sharded_increment",
            queryset=Item.objects.all(),
            params={"chunk_size": 250, "delay": UPDATE_DELAY},
        )
        shard = wait_shard_midway(task, 500)
        killed = kill_holder(shard, workers)
        workers[workers.index(killed)] = killed.__class__(
            killed.name, killed.argv, killed.env, killed.ready
        ).start()

        task = wait_finished(task, timeout=300)

        assert task.status == task.outcome == "succeeded", task.message
        assert (task.total, task.processed, task.succeeded_count, task.failed_count) == (
            UPDATE_ROWS,
            UPDATE_ROWS,
            UPDATE_ROWS,
            0,
        )
        assert task.shard_count == SHARDS
        check_killed_shard(shard)
        values = dict(Item.objects.values_list("value").annotate(n=Count("pk")))
        assert values == {1: UPDATE_ROWS}, f"rows by value (2 = applied twice, 0 = lost): {values}"
    finally:
        for worker in workers:
            worker.stop()


def stored_tickets(rows: int) -> ContentFile[bytes]:
    data = "Title,Seats\n" + "".join(f"Ticket {i:06d},{i % 400 + 1}\n" for i in range(rows))
    out = io.BytesIO()
    with open_table(
        io.BytesIO(data.encode()), filename="tickets.csv", limits=limits_from_settings()
    ) as table:
        write_table(table, out)
    return ContentFile(out.getvalue(), name="rows.bulkops-rows")


@pytest.mark.parametrize("kind", BACKENDS)
def test_sharded_import_with_a_worker_killed_mid_shard_writes_every_row_once(
    scenario: Any, kind: str
) -> None:
    run, workers = two_workers(scenario, kind, min_rows=IMPORT_ROWS // SHARDS)
    try:
        task = run.submit(
            "import",
            model=Ticket,
            params={"filename": "tickets.csv", "mode": "create", "stored": True, "chunk_size": 100},
            input_file=stored_tickets(IMPORT_ROWS),
        )
        shard = wait_shard_midway(task, 500)
        killed = kill_holder(shard, workers)
        workers[workers.index(killed)] = killed.__class__(
            killed.name, killed.argv, killed.env, killed.ready
        ).start()

        task = wait_finished(task, timeout=300)

        assert task.status == task.outcome == "succeeded", task.message
        assert (task.total, task.processed, task.succeeded_count, task.failed_count) == (
            IMPORT_ROWS,
            IMPORT_ROWS,
            IMPORT_ROWS,
            0,
        )
        assert task.result["created"] == IMPORT_ROWS
        check_killed_shard(shard)
        assert Ticket.objects.count() == IMPORT_ROWS
        duplicated = Ticket.objects.values("title").annotate(n=Count("pk")).filter(n__gt=1)
        assert not duplicated.exists(), list(duplicated[:5])
    finally:
        for worker in workers:
            worker.stop()
