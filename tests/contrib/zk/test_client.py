"""ZKClient against the simulator: data round trips, and every fault ends cleanly."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime

import pytest
from zk import ZK

from bulkops.contrib.zk.client import ZKClient
from bulkops.contrib.zk.exceptions import (
    DeviceAuthError,
    DeviceConnectionLost,
    DeviceProtocolError,
    DeviceTimeout,
    DeviceUnreachable,
    InvalidUserData,
)
from bulkops.contrib.zk.records import DeviceUser
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator, SimUser

from .conftest import finishes_within

pytestmark = pytest.mark.timeout(60)

MakeSim = Callable[..., Simulator]


def client(sim: Simulator, **kwargs: object) -> ZKClient:
    options: dict[str, object] = {"timeout": 2, "retries": 1, "backoff": 0.05}
    options.update(kwargs)
    return ZKClient(sim.host, sim.port, label="Front door", **options)  # type: ignore[arg-type]


def employees(count: int, *, numeric: bool) -> list[DeviceUser]:
    return [
        DeviceUser(
            uid=n,
            user_id=str(5000 + n) if numeric else f"E-{n:05d}",
            name=f"Zoë {n}" if numeric else f"Zoë Nørgaard {n}",
            privilege=14 if n % 250 == 0 else 0,
            password=str(n % 10_000) if numeric else f"{n:06d}",
            group_id="1" if numeric else "staff",
            card=1_000_000 + n,
        )
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("user_format", [72, 28])
def test_push_two_thousand_users_and_read_them_back(
    make_simulator: MakeSim, user_format: int
) -> None:
    device = SimulatedDevice(user_format=user_format)
    sim = make_simulator(device)
    wanted = employees(2000, numeric=user_format == 28)
    with client(sim, user_format=user_format) as zk, zk.locked():
        assert device.disabled
        stored = [zk.set_user(user) for user in wanted]
    assert not device.disabled
    with client(sim) as zk:
        got = sorted(zk.get_users(), key=lambda u: u.uid or 0)
        assert zk.user_format().size == user_format
    assert got == stored
    if user_format == 72:
        assert stored == wanted  # everything fits a 72-byte record
    else:
        assert [u.name for u in stored[:2]] == ["Zoë 1", "Zoë 2"]


def test_names_are_cut_to_what_the_device_keeps(make_simulator: MakeSim) -> None:
    sim = make_simulator(SimulatedDevice(max_name_length=12))
    with client(sim, name_max_bytes=12) as zk:
        stored = zk.set_user(DeviceUser(uid=1, user_id="1", name="Zoë Ångström-Nørgaard"))
        assert stored.name == "Zoë Ångstr"  # 12 bytes would split the ö
        assert zk.get_users()[0].name == stored.name
    with client(make_simulator()) as zk:  # default: the 24 bytes of a 72-byte record
        stored = zk.set_user(DeviceUser(uid=1, user_id="1", name="é" * 30))
        assert stored.name == "é" * 12 and zk.get_users()[0].name == "é" * 12


def test_names_that_are_not_utf8_are_read_safely(make_simulator: MakeSim) -> None:
    device = SimulatedDevice()
    device.store_user(SimUser(uid=1, user_id="1", name=b"Jos\xe9 Mu\xf1oz"))  # cp1252
    device.store_user(SimUser(uid=2, user_id="2", name=b"\xff\xfe\x81"))
    device.store_user(SimUser(uid=3, user_id="3", name=b""))
    with client(make_simulator(device)) as zk:
        names = [u.name for u in sorted(zk.get_users(), key=lambda u: u.uid or 0)]
    assert names[0] == "José Muñoz"
    assert isinstance(names[1], str) and names[2] == ""


def test_user_values_the_device_cannot_keep_are_rejected(make_simulator: MakeSim) -> None:
    device = SimulatedDevice(user_format=28)
    with client(make_simulator(device), user_format=28) as zk:
        with pytest.raises(InvalidUserData, match="Front door: user 'A-12'.*digits only") as e:
            zk.set_user(DeviceUser(uid=1, user_id="A-12"))
        assert e.value.field == "user_id"
        with pytest.raises(InvalidUserData, match="password is longer than 5 bytes"):
            zk.set_user(DeviceUser(uid=1, user_id="12", password="123456"))
        with pytest.raises(InvalidUserData, match="privilege"):
            zk.set_user(DeviceUser(uid=1, user_id="12", privilege=3))
        with pytest.raises(InvalidUserData, match="uid"):
            zk.set_user(DeviceUser(uid=70_000, user_id="12"))
    assert device.user_list() == []


def test_delete_user(make_simulator: MakeSim) -> None:
    device = SimulatedDevice()
    device.populate(users=3)
    with client(make_simulator(device)) as zk:
        zk.delete_user(2)
        assert [u.user_id for u in zk.get_users()] == ["1", "3"]
        zk.delete_user(2)  # an empty slot: answered OK, as real clocks do
        assert [u.user_id for u in zk.get_users()] == ["1", "3"]
        with pytest.raises(DeviceProtocolError, match="Front door: write user 1 failed"):
            zk.set_user(DeviceUser(uid=9, user_id="1"))  # user id 1 lives in slot 1
        assert zk.connected  # a refused command keeps the session


@pytest.mark.parametrize(("user_format", "attendance_format"), [(72, 40), (28, 16), (28, 8)])
def test_download_fifty_thousand_records_like_pyzk(
    make_simulator: MakeSim, user_format: int, attendance_format: int
) -> None:
    device = SimulatedDevice(user_format=user_format, attendance_format=attendance_format)
    device.populate(users=40, records=50_000)
    sim = make_simulator(device)
    with client(sim) as zk:
        assert zk.record_count() == 50_000
        punches = zk.get_attendance()
    reference = ZK(sim.host, port=sim.port, timeout=5, ommit_ping=True).connect().get_attendance()
    assert [(x.user_id, x.timestamp, x.status, x.punch) for x in punches] == [
        (x.user_id, x.timestamp, x.status, x.punch) for x in reference
    ]
    with client(sim) as zk:
        zk.clear_attendance()
        assert zk.get_attendance() == [] and zk.record_count() == 0


def test_device_info_and_clock(make_simulator: MakeSim) -> None:
    device = SimulatedDevice(serial_number="A8N5230560123")
    device.populate(users=2, records=7)
    with client(make_simulator(device)) as zk:
        info = zk.info()
        zk.set_time(datetime(2031, 1, 2, 3, 4, 5))
        assert abs((zk.get_time() - datetime(2031, 1, 2, 3, 4, 5)).total_seconds()) < 5
    assert (info.serial_number, info.users, info.records) == ("A8N5230560123", 2, 7)
    assert info.firmware_version.startswith("Ver ")


def test_capture_events(make_simulator: MakeSim) -> None:
    device = SimulatedDevice()
    device.populate(users=3)

    def punch_when_listening() -> None:
        while not device._listeners:
            time.sleep(0.02)
        device.punch("2", timestamp=datetime(2026, 5, 4, 8, 1, 2))

    threading.Thread(target=punch_when_listening, daemon=True).start()
    with client(make_simulator(device)) as zk, finishes_within(10):
        events = zk.capture_events(duration=8, max_events=1)
    assert [(e.user_id, e.timestamp) for e in events] == [("2", datetime(2026, 5, 4, 8, 1, 2))]


# Faults: each ends in the stated exception, within a deadline -----------------------


def test_closed_port_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        with finishes_within(5), pytest.raises(DeviceUnreachable, match="Front door.*refused"):
            ZKClient(
                "127.0.0.1", port, timeout=1, retries=2, backoff=0.05, label="Front door"
            ).connect()


def test_wrong_comm_key_is_an_auth_error_without_retries(make_simulator: MakeSim) -> None:
    sim = make_simulator(SimulatedDevice(password=4242))
    with finishes_within(3), pytest.raises(DeviceAuthError, match="Front door: .*comm key"):
        client(sim, password=4343, retries=5, backoff=1).connect()
    assert sim.connections == 1  # not retried
    with client(sim, password=4242) as zk:
        assert zk.info().serial_number


def test_refused_auth(make_simulator: MakeSim) -> None:
    with finishes_within(3), pytest.raises(DeviceAuthError):
        client(make_simulator(refuse_auth=True)).connect()


def test_slow_replies_beyond_the_timeout(make_simulator: MakeSim) -> None:
    sim = make_simulator(reply_delay=2.0)
    with finishes_within(8), pytest.raises(DeviceTimeout, match="Front door: no answer within"):
        client(sim, timeout=0.5, retries=1).connect()


def test_slow_download_hits_the_hard_deadline(make_simulator: MakeSim) -> None:
    device = SimulatedDevice()
    device.populate(users=2, records=20_000)  # 13 packets per chunk read, 0.2 s each
    sim = make_simulator(device)
    zk = client(sim, timeout=1, call_timeout=1.5, retries=0).connect()
    sim.faults.reply_delay = 0.2
    with finishes_within(6), pytest.raises(DeviceTimeout, match="deadline"):
        zk.get_attendance()
    sim.faults.reply_delay = 0
    zk.close()


@pytest.mark.parametrize("records", [50_000, 10])  # buffered and inline transfers
def test_drop_mid_transfer_never_hangs(make_simulator: MakeSim, records: int) -> None:
    device = SimulatedDevice()
    device.populate(users=2, records=records)
    sim = make_simulator(device, drop_mid_transfer=-1)
    zk = client(sim, retries=2).connect()
    lost = pytest.raises(DeviceConnectionLost, match="connection lost")
    with finishes_within(10), lost, zk.locked():
        zk.get_attendance()
    assert not device.disabled  # unlocked over a fresh connection
    zk.close()


def test_one_drop_is_retried(make_simulator: MakeSim) -> None:
    device = SimulatedDevice()
    device.populate(users=2, records=30_000)
    sim = make_simulator(device, drop_mid_transfer=1)
    with client(sim) as zk, zk.locked(), finishes_within(10):
        assert len(zk.get_attendance()) == 30_000
    assert not device.disabled and device.disable_count == 2  # re-locked after reconnect


def test_keypad_is_unlocked_when_the_block_raises(make_simulator: MakeSim) -> None:
    device = SimulatedDevice()
    with client(make_simulator(device)) as zk, pytest.raises(RuntimeError), zk.locked():
        assert device.disabled
        raise RuntimeError("bug in the caller")
    assert not device.disabled


def test_a_call_stuck_outside_the_socket_is_abandoned(make_simulator: MakeSim) -> None:
    zk = client(make_simulator(), call_timeout=0.5).connect()
    assert zk._zk is not None
    with finishes_within(4), pytest.raises(DeviceTimeout, match="did not finish within"):
        zk._run(zk._zk, "a stuck call", lambda: time.sleep(30), budget=0.5)
    assert not zk.connected


def test_udp_device(make_simulator: MakeSim) -> None:
    device = SimulatedDevice(user_format=28, attendance_format=16)
    device.populate(users=30, records=4_000)
    with client(make_simulator(device, udp=True), udp=True) as zk:
        assert zk.info().serial_number == "SIM0000000001"
        assert zk.user_format().size == 28
        assert len(zk.get_users()) == 30
        assert len(zk.get_attendance()) == 4_000
        zk.set_user(DeviceUser(uid=31, user_id="31", name="UDP user"))
        assert len(zk.get_users()) == 31


def test_udp_silence_is_a_timeout(make_simulator: MakeSim) -> None:
    sim = make_simulator()  # TCP only: UDP datagrams to its port go unanswered
    with finishes_within(8), pytest.raises(DeviceTimeout):
        client(sim, udp=True, timeout=0.5, retries=1).connect()
