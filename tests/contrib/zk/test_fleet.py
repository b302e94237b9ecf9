"""Many clocks in one task: parallel downloads, per-device errors, honest resume counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bulkops import runner
from bulkops.api import retry
from bulkops.contrib.zk.exceptions import SyncFailed
from bulkops.contrib.zk.models import AttendanceRecord, Device
from bulkops.contrib.zk.sessions import DownloadSession
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator
from bulkops.models import BulkTask, BulkTaskError
from tests.contrib.zk.hr.models import Employee

from .conftest import finishes_within
from .test_operations import device_for, operator, run  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

MakeSim = Callable[..., Simulator]


def test_five_clocks_one_refusing_one_too_slow(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sims = []
    for n in range(5):
        sim = SimulatedDevice(serial_number=f"GATE{n}", password=1234 if n == 3 else 0)
        sim.populate(users=20, records=1_500 + n)
        sims.append(sim)
    for n, sim in enumerate(sims):
        device_for(make_simulator(sim, reply_delay=1.0 if n == 4 else 0.0), f"Gate {n}")
    Device.objects.filter(name="Gate 3").update(password=999)  # the wrong comm key
    Device.objects.update(timeout=0.3)
    with finishes_within(30), pytest.raises(SyncFailed) as failed:
        run("zk.download_attendance", operator, django_capture_on_commit_callbacks, dummy_backend)
    task = BulkTask.objects.get()
    assert task.status == BulkTask.Status.FAILED
    assert str(failed.value).startswith("3 of 5 time clocks done; failed: ")
    assert "Gate 3: the device refused the comm key" in task.message
    assert "Gate 4: no answer within 0.3 s" in task.message
    errors = dict(BulkTaskError.objects.values_list("ref", "message"))
    assert set(errors) == {"Gate 3", "Gate 4"}
    for n in range(3):
        stored = AttendanceRecord.objects.filter(device_serial=f"GATE{n}").count()
        assert stored == 1_500 + n  # the others downloaded completely
    assert (task.total, task.processed) == (4_503, 4_503)
    assert all(d.session_token == "" for d in Device.objects.all())
    assert not any(sim.disabled for sim in sims)


def test_result_names_each_device(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    for n in range(3):
        sim = SimulatedDevice(serial_number=f"GATE{n}")
        sim.populate(users=5, records=100 * (n + 1))
        device_for(make_simulator(sim), f"Gate {n}")
    task = run(
        "zk.download_attendance", operator, django_capture_on_commit_callbacks, dummy_backend
    )
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert task.result["per_device"] == {
        f"Gate {n}": {"read": 100 * (n + 1), "new": 100 * (n + 1), "known": 0} for n in range(3)
    }


def test_a_resumed_download_never_counts_past_its_total(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "ZK": {**settings.BULKOPS["ZK"], "CHUNK_SIZE": 500}}
    sims = []
    for n in range(2):
        sim = SimulatedDevice(serial_number=f"GATE{n}")
        sim.populate(users=5, records=2_000)
        sims.append(sim)
        device_for(make_simulator(sim), f"Gate {n}")
    store = DownloadSession.store
    calls = {"n": 0}

    def crash_on_the_sixth_chunk(self: DownloadSession, punches: Any) -> tuple[int, int]:
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("worker died")
        return store(self, punches)

    monkeypatch.setattr(DownloadSession, "store", crash_on_the_sixth_chunk)
    with pytest.raises(RuntimeError):
        run("zk.download_attendance", operator, django_capture_on_commit_callbacks, dummy_backend)
    task = BulkTask.objects.get()
    assert task.processed == 2_500 and task.total == 4_000
    stored = [AttendanceRecord.objects.filter(device_serial=f"GATE{n}").count() for n in (0, 1)]
    assert sorted(stored) == [500, 2_000]  # one clock done, one stopped after a chunk
    unfinished = stored.index(500)
    sims[unfinished].punch("1")  # the half-stored device's log grew meanwhile
    monkeypatch.setattr(DownloadSession, "store", store)
    with django_capture_on_commit_callbacks(execute=True):
        retry(task)
    dummy_backend.clear()
    runner.run(task.pk)
    task.refresh_from_db()
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert (task.processed, task.total) == (4_001, 4_001)
    assert AttendanceRecord.objects.count() == 4_001


def test_a_user_change_reaches_every_clock_that_answers(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    sims = [SimulatedDevice(serial_number=f"GATE{n}", password=77 * (n == 3)) for n in range(5)]
    for n, sim in enumerate(sims):
        device_for(make_simulator(sim, reply_delay=1.0 if n == 4 else 0.0), f"Gate {n}")
    Device.objects.update(timeout=0.3)
    Device.objects.filter(name="Gate 3").update(password=1)
    Employee.objects.bulk_create(Employee(badge=str(n), full_name=f"E{n}") for n in range(1, 31))
    args = (operator, django_capture_on_commit_callbacks, dummy_backend)
    with finishes_within(30), pytest.raises(SyncFailed, match="3 of 5 time clocks done"):
        run(
            "zk.push_users",
            *args,
            params={"devices": list(Device.objects.values_list("pk", flat=True))},
        )
    Device.objects.filter(name__in=["Gate 3", "Gate 4"]).update(is_active=False)
    Employee.objects.filter(badge="7").update(full_name="Renamed Seven")
    task = run("zk.push_users", *args)  # the change, to the three that answer
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert (task.succeeded_count, task.skipped_count) == (1, 29)
    for sim in sims[:3]:
        assert {u.user_id: u.name for u in sim.user_list()}["7"] == b"Renamed Seven"
        assert not sim.disabled
    assert sims[3].users == {} and sims[4].users == {}
    refs = set(BulkTaskError.objects.values_list("ref", flat=True))
    assert refs == {"Gate 3", "Gate 4"}  # from the first task; the second had none
