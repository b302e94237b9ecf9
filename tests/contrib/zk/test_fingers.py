"""Fingerprint templates: pyzk's backup/restore calls against the simulator, and
templates that follow their people through pull, push and copy, byte for byte."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from zk import ZK, const
from zk.finger import Finger
from zk.user import User

import bulkops
from bulkops.contrib.zk._transport import upload_users
from bulkops.contrib.zk.client import ZKClient
from bulkops.contrib.zk.models import FingerTemplate
from bulkops.contrib.zk.records import UserFormat
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator
from bulkops.contrib.zk.simulator.device import SimTemplate
from bulkops.models import BulkTask
from tests.contrib.zk.hr.models import Employee

from .test_operations import device_for, operator, run  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

MakeSim = Callable[..., Simulator]


def enrolled(users: int, *, seed: int = 7, **kwargs: Any) -> SimulatedDevice:
    """A device with ``users`` users, each with two or three fingers of random bytes
    (sizes around real ZKFinger 10 templates, some over 1 KiB)."""
    rng = random.Random(seed)
    device = SimulatedDevice(**kwargs)
    device.populate(users=users)
    for uid in range(1, users + 1):
        for fid in rng.sample(range(10), rng.choice((2, 3))):
            size = rng.randrange(400, 1700)
            device.templates[(uid, fid)] = SimTemplate(uid, fid, rng.randbytes(size))
    return device


def by_person(device: SimulatedDevice) -> dict[tuple[str, int], bytes]:
    pins = {u.uid: u.user_id for u in device.user_list()}
    return {(pins[t.uid], t.fid): t.template for t in device.template_list()}


def clear_data(conn: ZK) -> None:
    try:
        conn.clear_data()
    except TypeError:
        # pyzk 0.9 builds this command from a str on Python 3 (fixed in pyzk's master):
        # the same command, sent as bytes.
        conn._ZK__send_command(const.CMD_CLEAR_DATA, b"")


@pytest.mark.parametrize("high_rate", [False, True], ids=["one-by-one", "high-rate"])
@pytest.mark.parametrize("udp", [False, True], ids=["tcp-72", "udp-28"])
def test_pyzk_backup_then_restore(
    make_simulator: MakeSim, tmp_path: Path, high_rate: bool, udp: bool
) -> None:
    """The calls of pyzk's test_backup_restore.py, backup run then restore run."""
    device = enrolled(30, user_format=28 if udp else 72)
    original = by_person(device)
    names = [u.name for u in device.user_list()]
    sim = make_simulator(device, udp=udp)
    backup = tmp_path / "SIM.json.bak"

    def connect() -> ZK:
        return ZK(sim.host, port=sim.port, timeout=5, ommit_ping=True, force_udp=udp).connect()

    conn = connect()
    serial, fp_version = conn.get_serialnumber(), conn.get_fp_version()
    conn.read_sizes()
    users = conn.get_users()
    templates = conn.get_templates()
    assert (len(users), len(templates), conn.fingers) == (30, len(original), len(original))
    data = {
        "version": "1.00jut",
        "serial": serial,
        "fp_version": fp_version,
        "users": [u.__dict__ for u in users],
        "templates": [t.json_pack() for t in templates],
    }
    backup.write_text(json.dumps(data, indent=1))
    conn.disconnect()

    conn = connect()
    data = json.loads(backup.read_text())
    assert data["fp_version"] == conn.get_fp_version()
    users = [User.json_unpack(u) for u in data["users"]]
    templates = [Finger.json_unpack(t) for t in data["templates"]]
    conn.disable_device()
    clear_data(conn)
    conn.read_sizes()
    assert (conn.users, conn.fingers) == (0, 0)
    pairs = [(u, [t for t in templates if t.uid == u.uid]) for u in users]
    if not high_rate:
        for user, fingers in pairs:
            conn.save_user_template(user, fingers)
    elif hasattr(conn, "HR_save_usertemplates"):
        conn.HR_save_usertemplates(pairs)
    else:  # pyzk 0.9 has no HR_save_usertemplates: the same upload through our client
        upload_users(
            conn,
            [u.repack29() if udp else u.repack73() for u in users],
            [(f.uid, f.fid, f.template) for _u, fingers in pairs for f in fingers],
        )
    conn.enable_device()
    conn.read_sizes()
    assert (conn.users, conn.fingers) == (30, len(original))
    one = conn.get_user_template(3, sorted(f for u, f in device.templates if u == 3)[0])
    assert one.template == device.templates[(3, one.fid)].template
    conn.disconnect()
    assert by_person(device) == original
    assert [u.name for u in device.user_list()] == names


def test_delete_of_an_absent_user_is_answered_ok(make_simulator: MakeSim) -> None:
    device = enrolled(2)
    sim = make_simulator(device)
    with ZKClient(sim.host, sim.port, timeout=3) as client:
        client.delete_user(999)  # an empty slot: OK, as real clocks answer
        client.delete_user(2)
        assert [u.user_id for u in client.get_users()] == ["1"]
        assert {t.uid for t in client.get_templates()} == {1}  # fingers went with the user
        fid = min(f for u, f in device.templates if u == 1)
        assert client.delete_template(1, fid) and not client.delete_template(1, fid)


def test_upload_rules_of_the_device(make_simulator: MakeSim) -> None:
    device = SimulatedDevice(user_format=28, fingers_capacity=2)
    sim = make_simulator(device)
    fmt = UserFormat.get(28)
    with ZKClient(sim.host, sim.port, timeout=3, user_format=28) as client:
        zk = client._zk
        assert zk is not None
        user = fmt.upload_record(fmt.prepare(User28(1), "sim", "utf-8", None), "utf-8")
        with pytest.raises(Exception, match="Can't save usertemplates"):
            upload_users(zk, [user], [(1, 0, b"a"), (1, 1, b"b"), (1, 2, b"c")])  # over capacity
        with pytest.raises(Exception, match="Can't save usertemplates"):
            upload_users(zk, [], [(5, 0, b"nobody")])  # a finger of no user
        assert device.users == {} and device.templates == {}  # all or nothing
        upload_users(zk, [user], [(1, 0, b"a")])
        assert device.template_list()[0].template == b"a"


def User28(uid: int) -> Any:
    from bulkops.contrib.zk.records import DeviceUser

    return DeviceUser(user_id=str(uid), name=f"P{uid}", uid=uid)


def test_fingerprints_follow_people_through_pull_and_push(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    source = enrolled(40)
    gate_a = device_for(make_simulator(source), "Gate A")
    task = run(
        "zk.pull_users",
        operator,
        django_capture_on_commit_callbacks,
        dummy_backend,
        params={"devices": [gate_a.pk]},
    )
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert task.result["fingerprints"] == len(source.templates)
    stored = {
        (t.user_id, t.finger): bytes(t.template) for t in FingerTemplate._default_manager.all()
    }
    assert stored == by_person(source)

    # A new clock whose slots are taken in another order: fingers follow user ids.
    target = SimulatedDevice(serial_number="GATEB")
    target.populate(users=0)
    Employee.objects.filter(badge__in=["1", "2"]).delete()
    gate_b = device_for(make_simulator(target), "Gate B")
    gate_a.is_active = False
    gate_a.save()
    task = run("zk.push_users", operator, django_capture_on_commit_callbacks, dummy_backend)
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert task.succeeded_count == 38
    expected = {k: v for k, v in by_person(source).items() if k[0] not in ("1", "2")}
    assert by_person(target) == expected
    assert target.users[1].user_id != "1"  # other slots than on Gate A

    task = run("zk.push_users", operator, django_capture_on_commit_callbacks, dummy_backend)
    assert (task.succeeded_count, task.skipped_count) == (0, 38)
    assert gate_b.pk in task.params["devices"]


def test_copy_users_with_fingerprints_between_clocks(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
    dummy_backend: list[Any],
) -> None:
    source = enrolled(25, user_format=72)
    target = SimulatedDevice(serial_number="GATEB")
    target.populate(users=3)  # users "1".."3" already there, without fingers
    gate_a = device_for(make_simulator(source), "Gate A")
    gate_b = device_for(make_simulator(target), "Gate B")
    task = run(
        "zk.copy_users",
        operator,
        django_capture_on_commit_callbacks,
        dummy_backend,
        params={"source": gate_a.pk, "devices": [gate_b.pk]},
    )
    assert task.status == BulkTask.Status.SUCCEEDED, task.message
    assert (task.total, task.succeeded_count) == (25, 25)
    assert by_person(target) == by_person(source)
    assert FingerTemplate._default_manager.count() == 0  # device to device: nothing stored


def test_copy_needs_a_source_and_another_clock(
    make_simulator: MakeSim,
    operator: Any,  # noqa: F811
) -> None:
    gate = device_for(make_simulator(), "Gate A")
    with pytest.raises(ValidationError, match="copy from"):
        bulkops.submit("zk.copy_users", user=operator, params={"devices": [gate.pk]})
    with pytest.raises(ValidationError, match="other than the source"):
        bulkops.submit("zk.copy_users", user=operator, params={"source": gate.pk})
    other = device_for(make_simulator(), "Gate B")
    task = bulkops.submit("zk.copy_users", user=operator, params={"source": str(gate.pk)})
    assert (task.params["source"], task.params["devices"]) == (gate.pk, [other.pk])
