"""Schedules on the backends' own schedulers: a real django-q2 cluster, real Celery beat."""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from bulkops.models import BulkTask
from bulkops.schedules import celery_beat_schedule, django_q_schedule
from tests import services
from tests.testapp.models import Item

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def runs(name: str) -> Any:
    return BulkTask.objects.filter(label=name).order_by("created_at")


def succeeded_runs(name: str, count: int) -> bool:
    return runs(name).filter(status="succeeded").count() == count


def assert_ordinary_runs(name: str, user: Any, count: int) -> None:
    tasks = list(runs(name))
    assert len(tasks) >= count
    for task in tasks:
        assert task.status == BulkTask.Status.SUCCEEDED, task.message
        assert (task.owner, task.operation, task.model) == (user, "update", "testapp.item")
        assert task.params["values"] == {"name": "scheduled"}
        assert task.total == 5  # the schedule's filter, value < 5
    assert Item.objects.filter(name="scheduled").count() == 5


def test_django_q_schedule_runs_pauses_and_skips_an_overlapping_run(
    workers: Any, user: Any, items: Any
) -> None:
    from django_q.models import Schedule
    from django_q.scheduler import scheduler
    from django_q.tasks import result

    workers.get("django-q-orm")
    name = "q-every-minute"
    schedule = django_q_schedule(
        name, "update", minutes=1, user=user, model="testapp.Item",
        filters={"value__lt": 5}, params={"values": {"name": "scheduled"}},
        next_run=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip

    def due() -> None:
        # The minute passes, and the cluster's guard calls scheduler() (every 30 s there).
        Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timedelta(1))
        scheduler()

    for count in (1, 2):
        due()
        services.wait_for(partial(succeeded_runs, name, count))
    assert_ordinary_runs(name, user, 2)

    # A run that would overlap the previous one is skipped, and the queue records why.
    previous = BulkTask.objects.create(
        operation="update", label=name, status="running", lock_key=f"schedule:{name}"
    )
    due()
    task_id = Schedule.objects.get(pk=schedule.pk).task
    skipped = services.wait_for(lambda: result(task_id), timeout=30)
    assert skipped == f"skipped: the previous run {previous.pk} is still running"
    assert runs(name).count() == 3
    previous.delete()

    # Paused in the admin: Repeats 0.
    Schedule.objects.filter(pk=schedule.pk).update(repeats=0)
    due()
    time.sleep(1.5)
    assert runs(name).count() == 2


def hold_the_schedule(name: str) -> BulkTask | None:
    """A running task holding the schedule's lock; None while a real run still holds it."""
    try:
        with transaction.atomic():
            return BulkTask.objects.create(
                operation="update", label="holder", status="running", lock_key=f"schedule:{name}"
            )
    except IntegrityError:
        return None


@pytest.fixture
def beat(test_db_name: str, run_id: str) -> Iterator[str]:
    """A Celery worker on its own queue and Celery beat reading django-celery-beat's tables."""
    if importlib.util.find_spec("django_celery_beat") is None:
        # Not a missing service: the library does not install beside this Django.
        pytest.skip(
            "django-celery-beat supports Django < 6.1 only; scripts/test-matrix runs this "
            "test on Django 5.2 and 6.0 (the `beat` dependency group)"
        )
    services.require_redis()
    queue = f"bulkops-beat-{run_id}"
    env = services.worker_env(
        test_db_name,
        BULKOPS_BACKEND="bulkops.backends.celery.CeleryBackend",
        BULKOPS_OPTIONS=f'{{"queue": "{queue}"}}',
        BULKOPS_CELERY_BROKER=services.REDIS_URL,
    )
    worker = services.celery_worker(test_db_name, services.REDIS_URL, queue)
    worker.env = env
    argv = [
        sys.executable, "-m", "celery", "-A", "tests.celery_app", "beat", "-l", "info",
        "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile=",
        "--max-interval", "1",
    ]  # fmt: skip
    beat = services.Worker("celery-beat", argv, env, ready="beat: Starting")
    worker.start()
    try:
        beat.start()
        yield queue
    finally:
        beat.stop()
        worker.stop()


def test_celery_beat_schedule_every_two_seconds_then_paused(
    beat: str, user: Any, items: Any
) -> None:
    name = "beat-every-2s"
    periodic = celery_beat_schedule(
        name, "update", every=2, user=user, model="testapp.Item",
        filters={"value__lt": 5}, params={"values": {"name": "scheduled"}}, queue=beat,
    )  # fmt: skip

    services.wait_for(lambda: runs(name).filter(status="succeeded").count() >= 2, timeout=40)
    assert_ordinary_runs(name, user, 2)
    first, second = list(runs(name))[:2]
    assert timedelta(seconds=1) < second.created_at - first.created_at < timedelta(seconds=6)

    # While an earlier run holds the schedule's lock, beat's runs start no task.
    holder = services.wait_for(partial(hold_the_schedule, name))
    held = runs(name).count()
    time.sleep(5)  # two or three ticks of beat
    assert runs(name).count() == held
    holder.delete()
    services.wait_for(lambda: runs(name).count() > held, timeout=20)

    # Paused in the admin: Enabled unticked.
    periodic.enabled = False
    periodic.save()
    time.sleep(3)  # beat notices the change on its next tick; a run already sent may land
    services.wait_for(lambda: not runs(name).unfinished().exists())
    settled = runs(name).count()
    time.sleep(5)
    assert runs(name).count() == settled
