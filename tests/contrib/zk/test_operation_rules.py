"""Rules of the zk operations, through submit and the runner (moved here from the
tests of the former ``sync`` module, which repeated the operations)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from bulkops.contrib.zk.models import AttendanceRecord
from bulkops.contrib.zk.sessions import DownloadSession
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator
from bulkops.models import BulkTask, BulkTaskError
from tests.contrib.zk.hr.models import Employee

from .test_operations import device_for, operator, run  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

MakeSim = Callable[..., Simulator]


def make_employees(count: int) -> None:
    Employee.objects.bulk_create(
        Employee(badge=str(10_000 + n), full_name=f"Zoë Employee {n}", department="sales")
        for n in range(1, count + 1)
    )


def test_push_updates_changed_users_and_can_remove_the_rest(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sim = SimulatedDevice()
    sim.populate(users=3)  # user ids 1, 2, 3: not employees
    device_for(make_simulator(sim), "Gate")
    make_employees(5)
    args = (operator, django_capture_on_commit_callbacks, dummy_backend)
    run("zk.push_users", *args)
    Employee.objects.filter(badge="10001").update(full_name="Renamed")
    task = run("zk.push_users", *args)
    assert (task.succeeded_count, task.skipped_count, task.result["removed"]) == (1, 4, 0)
    task = run("zk.push_users", *args, params={"remove_missing": True})
    assert task.result["removed"] == 3
    assert sorted(u.user_id for u in sim.user_list()) == [str(10_000 + n) for n in range(1, 6)]
    assert {u.name for u in sim.user_list() if u.user_id == "10001"} == {b"Renamed"}


def test_push_reports_rows_the_device_cannot_keep(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sim = SimulatedDevice(user_format=28)
    device_for(make_simulator(sim), "Gate", user_format=28)
    make_employees(4)
    Employee.objects.update(department="")
    Employee.objects.filter(badge="10004").update(department="sales")
    Employee.objects.create(badge="B-7", full_name="Letters In Badge")
    Employee.objects.create(badge="0042", full_name="Leading Zeros")
    args = (operator, django_capture_on_commit_callbacks, dummy_backend)
    task = run("zk.push_users", *args)
    assert (task.succeeded_count, task.failed_count) == (4, 2)
    messages = dict(BulkTaskError.objects.values_list("field", "message"))
    assert "digits only" in messages["user_id"]
    assert "group must be a number" in messages["group_id"]
    assert len(sim.users) == 4 and not sim.disabled
    assert "42" in {u.user_id for u in sim.user_list()}
    task = run("zk.push_users", *args)  # "0042" is recognised as the device's "42"
    assert (task.succeeded_count, task.skipped_count) == (0, 4)


def test_clear_only_after_commit_and_when_nothing_changed(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = SimulatedDevice()
    sim.populate(users=5, records=3000)
    device_for(make_simulator(sim), "Gate")
    store = DownloadSession.store

    def punch_while_storing(self: DownloadSession, punches: Any) -> tuple[int, int]:
        if len(sim.records) == 3000:
            sim.punch("1")
        return store(self, punches)

    monkeypatch.setattr(DownloadSession, "store", punch_while_storing)
    args = (operator, django_capture_on_commit_callbacks, dummy_backend)
    task = run("zk.download_attendance", *args, params={"clear": True})
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert task.result["cleared"] == [] and "changed during the download" in task.message
    assert len(sim.records) == 3001 and not sim.disabled

    task = run("zk.download_attendance", *args, params={"clear": True})
    assert task.result["cleared"] == ["Gate"]
    assert (task.succeeded_count, task.skipped_count) == (1, 3000)
    assert sim.records == [] and AttendanceRecord.objects.count() == 3001


def test_time_zone_of_the_device_clock(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sim = SimulatedDevice()
    sim.populate(users=1, records=1)
    device_for(make_simulator(sim), "Gate", time_zone="Asia/Kolkata")
    run("zk.download_attendance", operator, django_capture_on_commit_callbacks, dummy_backend)
    record = AttendanceRecord.objects.get()
    assert record.timestamp == datetime(2026, 1, 5, 1, 30, tzinfo=timezone.utc)  # 07:00 IST
