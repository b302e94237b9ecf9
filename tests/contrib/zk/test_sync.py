"""The zk.* work against the simulator and a real database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from django.test import override_settings

from bulkops.contrib.zk import sync
from bulkops.contrib.zk.exceptions import DeviceBusy, DeviceConnectionLost
from bulkops.contrib.zk.locking import device_session
from bulkops.contrib.zk.models import AttendanceRecord, Device
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator
from tests.contrib.zk.hr.models import Employee

from .conftest import finishes_within
from .reporting import RecordingReporter

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

MakeSim = Callable[..., Simulator]


def device_for(sim: Simulator, **kwargs: object) -> Device:
    return Device.objects.create(
        name=f"Gate {sim.port}", host=sim.host, port=sim.port, timeout=3, **kwargs
    )


def make_employees(count: int) -> list[Employee]:
    return Employee.objects.bulk_create(
        Employee(
            badge=str(10_000 + n),
            full_name=f"Zoë Employee {n}",
            card_number=700_000 + n if n % 3 else None,
            is_admin=n % 500 == 0,
            pin=str(n % 9999) if n % 2 else "",
            department="sales" if n % 4 else "",
        )
        for n in range(1, count + 1)
    )


def push(
    device: Device, *, remove_missing: bool = False
) -> tuple[sync.PushResult, RecordingReporter]:
    reporter = RecordingReporter()
    return sync.push_employees(device, reporter, remove_missing=remove_missing), reporter


def pull(device: Device) -> tuple[sync.PullResult, RecordingReporter]:
    reporter = RecordingReporter()
    return sync.pull_users(device, reporter), reporter


def snapshot() -> list[tuple[object, ...]]:
    return list(
        Employee.objects.order_by("badge").values_list(
            "badge", "full_name", "card_number", "is_admin", "pin", "department"
        )
    )


def test_push_two_thousand_employees_then_pull_them_back_identical(
    make_simulator: MakeSim,
) -> None:
    sim_device = SimulatedDevice()
    device = device_for(make_simulator(sim_device))
    make_employees(2000)
    before = snapshot()

    result, reporter = push(device)
    assert (result.written, result.invalid, reporter.errors) == (2000, 0, [])
    assert len(sim_device.users) == 2000 and not sim_device.disabled
    device.refresh_from_db()
    assert device.serial_number == "SIM0000000001" and device.last_contact_at
    assert device.session_token == ""  # lease released

    result, _ = push(device)
    assert (result.written, result.unchanged) == (0, 2000)

    Employee.objects.all().delete()
    pulled, reporter = pull(device)
    assert (pulled.created, pulled.failed, reporter.errors) == (2000, 0, [])
    assert snapshot() == before
    pulled, _ = pull(device)
    assert (pulled.created, pulled.updated, pulled.unchanged) == (0, 0, 2000)


def test_push_updates_changed_users_and_can_remove_the_rest(make_simulator: MakeSim) -> None:
    sim_device = SimulatedDevice()
    sim_device.populate(users=3)  # user ids 1, 2, 3: not employees
    device = device_for(make_simulator(sim_device))
    make_employees(5)
    push(device)
    Employee.objects.filter(badge="10001").update(full_name="Renamed")
    result, _ = push(device)
    assert (result.written, result.unchanged, result.removed) == (1, 4, 0)
    result, _ = push(device, remove_missing=True)
    assert result.removed == 3
    assert sorted(u.user_id for u in sim_device.user_list()) == [
        str(10_000 + n) for n in range(1, 6)
    ]
    assert {u.name for u in sim_device.user_list() if u.user_id == "10001"} == {b"Renamed"}


def test_push_reports_rows_the_device_cannot_keep(make_simulator: MakeSim) -> None:
    sim_device = SimulatedDevice(user_format=28)
    device = device_for(make_simulator(sim_device), user_format=28)
    make_employees(4)
    Employee.objects.update(department="")
    Employee.objects.filter(badge="10004").update(department="sales")
    Employee.objects.create(badge="B-7", full_name="Letters In Badge")
    Employee.objects.create(badge="0042", full_name="Leading Zeros")
    Employee.objects.create(badge="", full_name="No Badge")
    result, reporter = push(device)
    assert result.written == 4 and result.invalid == 2
    messages = {field: message for _key, field, message in reporter.errors}
    assert "digits only" in messages["user_id"]
    assert "group must be a number" in messages["group_id"]
    assert "'badge' is empty" in messages["badge"]
    assert len(sim_device.users) == 4 and not sim_device.disabled
    assert "42" in {u.user_id for u in sim_device.user_list()}
    result, _ = push(device)  # "0042" is recognised as the device's "42"
    assert (result.written, result.unchanged) == (0, 4)


def test_download_fifty_thousand_punches_then_nothing_new(make_simulator: MakeSim) -> None:
    sim_device = SimulatedDevice()
    sim_device.populate(users=200, records=50_000)
    device = device_for(make_simulator(sim_device))
    reporter = RecordingReporter()
    with finishes_within(60):
        result = sync.download_attendance(device, reporter)
    assert (result.new, result.known, result.cleared) == (50_000, 0, False)
    assert reporter.total == reporter.succeeded == 50_000
    assert AttendanceRecord.objects.count() == 50_000
    first = AttendanceRecord.objects.order_by("timestamp").first()
    assert first is not None
    assert (first.user_id, first.timestamp) == (
        "1",
        datetime(2026, 1, 5, 7, 0, tzinfo=timezone.utc),
    )
    assert first.device_serial == "SIM0000000001"

    again = sync.download_attendance(device, RecordingReporter())
    assert (again.new, again.known) == (0, 50_000)
    assert AttendanceRecord.objects.count() == 50_000


def test_clear_only_after_commit_and_when_nothing_changed(make_simulator: MakeSim) -> None:
    sim_device = SimulatedDevice()
    sim_device.populate(users=5, records=3000)
    device = device_for(make_simulator(sim_device))

    # A punch lands while records are being stored: the log must be kept.
    reporter = RecordingReporter()

    def punch_once() -> None:
        sim_device.punch("1")
        reporter.on_advance = None

    reporter.on_advance = punch_once
    result = sync.download_attendance(device, reporter, clear=True, chunk_size=1000)
    assert not result.cleared and "changed during the download" in result.note
    assert len(sim_device.records) == 3001 and not sim_device.disabled

    result = sync.download_attendance(device, RecordingReporter(), clear=True)
    assert result.cleared and (result.new, result.known) == (1, 3000)
    assert sim_device.records == [] and not sim_device.disabled
    assert AttendanceRecord.objects.count() == 3001


def test_time_zone_of_the_device_clock(make_simulator: MakeSim) -> None:
    sim_device = SimulatedDevice()
    sim_device.populate(users=1, records=1)
    device = device_for(make_simulator(sim_device), time_zone="Asia/Kolkata")
    sync.download_attendance(device, RecordingReporter())
    record = AttendanceRecord.objects.get()
    assert record.timestamp == datetime(2026, 1, 5, 1, 30, tzinfo=timezone.utc)  # 07:00 IST


def test_drop_mid_download_fails_cleanly(make_simulator: MakeSim) -> None:
    sim_device = SimulatedDevice()
    sim_device.populate(users=5, records=20_000)
    device = device_for(make_simulator(sim_device, drop_mid_transfer=-1))
    with finishes_within(20), pytest.raises(DeviceConnectionLost):
        sync.download_attendance(device, RecordingReporter(), clear=True)
    assert not sim_device.disabled and len(sim_device.records) == 20_000
    device.refresh_from_db()
    assert device.session_token == "" and AttendanceRecord.objects.count() == 0


@override_settings(BULKOPS={"ZK": {"LOCK_WAIT": 0.3}})
def test_one_session_per_device(make_simulator: MakeSim) -> None:
    device = device_for(make_simulator())
    busy = pytest.raises(DeviceBusy, match="another job")
    with device_session(device), finishes_within(5), busy:
        sync.download_attendance(device, RecordingReporter())
    sync.download_attendance(device, RecordingReporter())  # free again
