"""zk.push_users, zk.pull_users and zk.download_attendance through bulkops.submit and
the runner, against simulators and the test database."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

import bulkops
from bulkops import runner
from bulkops.contrib.zk.exceptions import SyncFailed
from bulkops.contrib.zk.locking import device_session
from bulkops.contrib.zk.models import AttendanceRecord, Device
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator
from bulkops.models import BulkTask, BulkTaskError
from tests.contrib.zk.hr.models import Employee

from .conftest import finishes_within

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(180)]

MakeSim = Callable[..., Simulator]


@pytest.fixture
def operator(django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user("operator", password="pw")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_device", "change_employee"])
    )
    return user


def device_for(sim: Simulator, name: str, **kwargs: Any) -> Device:
    return Device.objects.create(name=name, host=sim.host, port=sim.port, timeout=2, **kwargs)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(name: str, user: Any, capture: Any, dummy_backend: list[Any], **kwargs: Any) -> BulkTask:
    with capture(execute=True):
        task = bulkops.submit(name, user=user, **kwargs)
    assert dummy_backend == [task.pk]
    dummy_backend.clear()
    runner.run(task.pk)
    task.refresh_from_db()
    return task


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Employee.objects.order_by("badge").values_list(
            "badge", "full_name", "card_number", "is_admin", "pin", "department"
        )
    )


def test_push_two_thousand_to_two_devices_then_pull_back_identical(
    make_simulator: MakeSim,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sims = [SimulatedDevice(serial_number=f"GATE{n}") for n in (1, 2)]
    devices = [device_for(make_simulator(s), f"Gate {n}") for n, s in enumerate(sims, 1)]
    Employee.objects.bulk_create(
        Employee(
            badge=str(20_000 + n),
            full_name=f"Émilie Ørsted {n}",
            card_number=n * 11 if n % 2 else None,
            is_admin=n % 400 == 0,
            pin=f"{n % 10_000:04d}",
            department="ops" if n % 3 else "",
        )
        for n in range(2000)
    )
    before = snapshot()
    with finishes_within(60):
        task = run("zk.push_users", operator, django_capture_on_commit_callbacks, dummy_backend)
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert (task.total, task.processed, task.succeeded_count) == (2000, 2000, 2000)
    assert task.result == {"devices": 2, "written": 2000, "removed": 0}
    assert task.label == "Push users to time clocks (2 time clocks)"
    for sim in sims:
        assert len(sim.users) == 2000 and not sim.disabled
    assert all(d.session_token == "" for d in Device.objects.all())

    Employee.objects.all().delete()
    task = run(
        "zk.pull_users",
        operator,
        django_capture_on_commit_callbacks,
        dummy_backend,
        params={"devices": [devices[0].pk]},
    )
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert (task.total, task.succeeded_count, task.failed_count) == (2000, 2000, 0)
    assert snapshot() == before

    # Pushing the same employees again writes nothing.
    task = run("zk.push_users", operator, django_capture_on_commit_callbacks, dummy_backend)
    assert (task.succeeded_count, task.skipped_count) == (0, 2000)


def test_push_a_selection_and_remove_the_rest(
    make_simulator: MakeSim,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sim = SimulatedDevice()
    sim.populate(users=4)
    device_for(make_simulator(sim), "Gate")
    Employee.objects.bulk_create(Employee(badge=str(n), full_name=f"E{n}") for n in (1, 2, 50, 51))
    selected = Employee.objects.filter(badge__in=["50", "51"])
    task = run(
        "zk.push_users",
        operator,
        django_capture_on_commit_callbacks,
        dummy_backend,
        queryset=selected,
        params={"remove_missing": True},
    )
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert task.result == {"devices": 1, "written": 2, "removed": 4}
    assert sorted(u.user_id for u in sim.user_list()) == ["50", "51"]


def test_download_fifty_thousand_then_nothing_new(
    make_simulator: MakeSim,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sim = SimulatedDevice()
    sim.populate(users=300, records=50_000)
    device_for(make_simulator(sim), "Gate")
    with finishes_within(60):
        task = run(
            "zk.download_attendance", operator, django_capture_on_commit_callbacks, dummy_backend
        )
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert (task.total, task.succeeded_count, task.skipped_count) == (50_000, 50_000, 0)
    assert AttendanceRecord.objects.count() == 50_000
    task = run(
        "zk.download_attendance", operator, django_capture_on_commit_callbacks, dummy_backend
    )
    assert (task.succeeded_count, task.skipped_count) == (0, 50_000)
    assert task.result["new"] == 0
    assert AttendanceRecord.objects.count() == 50_000 and len(sim.records) == 50_000


def test_download_and_clear(
    make_simulator: MakeSim,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sim = SimulatedDevice()
    sim.populate(users=3, records=4_000)
    device_for(make_simulator(sim), "Gate")
    task = run(
        "zk.download_attendance",
        operator,
        django_capture_on_commit_callbacks,
        dummy_backend,
        params={"clear": True},
    )
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert task.result["cleared"] == ["Gate"]
    assert sim.records == [] and not sim.disabled and sim.disable_count == 1
    assert AttendanceRecord.objects.count() == 4_000


def test_an_unreachable_device_fails_the_task_but_not_the_others(
    make_simulator: MakeSim,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sim = SimulatedDevice()
    sim.populate(users=3, records=500)
    device_for(make_simulator(sim), "A good gate")
    Device.objects.create(name="B dead gate", host="127.0.0.1", port=closed_port(), timeout=1)
    with finishes_within(20), pytest.raises(SyncFailed):
        run("zk.download_attendance", operator, django_capture_on_commit_callbacks, dummy_backend)
    task = BulkTask.objects.get()
    assert task.status == BulkTask.Status.FAILED
    assert task.message.startswith(
        "1 of 2 time clocks done; failed: B dead gate: connection refused"
    )
    assert AttendanceRecord.objects.count() == 500  # the good device's records are kept
    error = BulkTaskError.objects.get()
    assert (error.ref, error.field) == ("B dead gate", "device")
    dead = Device.objects.get(name="B dead gate")
    assert "refused" in dead.last_error and dead.session_token == ""


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"drop_mid_transfer": -1}, "connection lost during download attendance"),
        ({"refuse_auth": True}, "refused the comm key"),
        ({"reply_delay": 3.0}, "no answer within 1 s"),
    ],
)
def test_device_faults_end_the_task_cleanly(
    make_simulator: MakeSim,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
    fault: dict[str, Any],
    expected: str,
) -> None:
    sim = SimulatedDevice()
    sim.populate(users=3, records=30_000)
    device = device_for(make_simulator(sim, **fault), "Gate")
    Device.objects.filter(pk=device.pk).update(timeout=1)
    with finishes_within(30), pytest.raises(SyncFailed, match=expected):
        run(
            "zk.download_attendance",
            operator,
            django_capture_on_commit_callbacks,
            dummy_backend,
            params={"clear": True},
        )
    assert BulkTask.objects.get().status == BulkTask.Status.FAILED
    assert not sim.disabled and len(sim.records) == 30_000
    assert AttendanceRecord.objects.count() == 0


def test_two_jobs_never_talk_to_one_device_at_once(
    make_simulator: MakeSim,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
    settings: Any,
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "ZK": {**settings.BULKOPS["ZK"], "LOCK_WAIT": 0.2}}
    device = device_for(make_simulator(), "Gate")
    with device_session(device), pytest.raises(SyncFailed, match="another job"):
        run("zk.download_attendance", operator, django_capture_on_commit_callbacks, dummy_backend)


def test_permissions_and_parameters(
    make_simulator: MakeSim, django_user_model: Any, operator: Any
) -> None:
    nobody = django_user_model.objects.create_user("nobody", password="pw")
    with pytest.raises(ValidationError, match="no active time clock"):
        bulkops.submit("zk.download_attendance", user=operator)
    device = device_for(make_simulator(), "Gate")
    with pytest.raises(PermissionDenied):
        bulkops.submit("zk.download_attendance", user=nobody)
    with pytest.raises(ValidationError, match="No time clock with id"):
        bulkops.submit("zk.download_attendance", user=operator, params={"devices": [999]})
    task = bulkops.submit("zk.download_attendance", user=operator, params={"devices": [device]})
    assert task.params["devices"] == [device.pk]


@pytest.mark.django_db(transaction=True)
def test_cancel_mid_push_unlocks_the_keypad(
    make_simulator: MakeSim,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sim = SimulatedDevice()
    device_for(make_simulator(sim, reply_delay=0.005), "Gate")  # about 4 s for all 400
    Employee.objects.bulk_create(Employee(badge=str(n), full_name=f"E{n}") for n in range(1, 401))
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit("zk.push_users", user=operator, params={"chunk_size": 20})

    def cancel_when_started() -> None:
        while len(sim.users) < 30:
            time.sleep(0.01)
        try:
            BulkTask.objects.filter(pk=task.pk).update(cancel_requested=True)
        finally:
            connection.close()  # this thread's own connection

    canceller = threading.Thread(target=cancel_when_started, daemon=True)
    canceller.start()
    with finishes_within(30):
        assert runner.run(task.pk) == BulkTask.Status.CANCELLED
    canceller.join(5)
    task.refresh_from_db()
    assert 30 <= task.processed < 400 and task.processed % 20 == 0
    assert not sim.disabled and Device.objects.get().session_token == ""
