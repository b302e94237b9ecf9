"""Unmodified pyzk against the simulator: the simulator is a faithful device."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import datetime

import pytest
from zk import ZK
from zk.exception import ZKErrorResponse, ZKNetworkError

from bulkops.contrib.zk import protocol as p
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator

pytestmark = pytest.mark.timeout(60)

MakeSim = Callable[..., Simulator]


def pyzk(sim: Simulator, **kwargs: object) -> ZK:
    return ZK(sim.host, port=sim.port, timeout=5, ommit_ping=True, **kwargs)


def test_connect_and_device_info(make_simulator: MakeSim) -> None:
    device = SimulatedDevice(serial_number="CKJG123456789", firmware_version="Ver 6.60 Mar 1 2024")
    device.populate(users=3, records=5)
    conn = pyzk(make_simulator(device)).connect()
    assert conn.get_serialnumber() == "CKJG123456789"
    assert conn.get_firmware_version() == "Ver 6.60 Mar 1 2024"
    assert conn.get_platform() == "ZMM220_TFT"
    assert conn.get_device_name() == "bulkops-sim"
    assert conn.get_mac() == "00:17:61:c8:00:01"
    assert conn.get_fp_version() == 10
    assert conn.get_extend_fmt() == 1
    assert conn.get_network_params()["ip"] == "127.0.0.1"
    conn.read_sizes()
    assert (conn.users, conn.records, conn.users_cap) == (3, 5, 10_000)
    conn.set_time(datetime(2030, 6, 1, 12, 0, 0))
    assert abs((conn.get_time() - datetime(2030, 6, 1, 12, 0, 0)).total_seconds()) < 5
    conn.disconnect()


@pytest.mark.parametrize("user_format", [72, 28])
def test_two_thousand_users_write_then_read_back(make_simulator: MakeSim, user_format: int) -> None:
    device = SimulatedDevice(user_format=user_format)
    device.populate(users=1)  # pyzk learns the record size from existing users
    conn = pyzk(make_simulator(device)).connect()
    conn.get_users()
    conn.disable_device()
    written = {}
    for uid in range(2, 2002):
        name = f"Emp {uid}" if user_format == 28 else f"Employee number {uid}"
        privilege = 14 if uid % 100 == 0 else 0
        user_id, card, password = str(10_000 + uid), uid * 7, str(uid % 1000)
        conn.set_user(uid, name, privilege, password, user_id=user_id, card=card)
        written[uid] = (name, str(10_000 + uid), uid * 7, str(uid % 1000))
    conn.enable_device()
    users = {u.uid: u for u in conn.get_users()}
    assert len(users) == 2001
    for uid, (name, user_id, card, password) in written.items():
        u = users[uid]
        assert (u.name, u.user_id, u.card, u.password) == (name, user_id, card, password)
    assert users[2000].privilege == 14
    conn.delete_user(uid=2)
    assert 2 not in {u.uid for u in conn.get_users()}
    assert not device.disabled
    conn.disconnect()


@pytest.mark.parametrize(("user_format", "attendance_format"), [(72, 40), (28, 16), (28, 8)])
def test_fifty_thousand_records(
    make_simulator: MakeSim, user_format: int, attendance_format: int
) -> None:
    device = SimulatedDevice(user_format=user_format, attendance_format=attendance_format)
    device.populate(users=50, records=50_000)
    conn = pyzk(make_simulator(device)).connect()
    records = conn.get_attendance()
    assert len(records) == 50_000
    expected = device.record_list()
    for got, want in zip(records[::997], expected[::997], strict=True):
        assert (got.user_id, got.timestamp, got.punch) == (want.user_id, want.timestamp, want.punch)
    conn.clear_attendance()
    assert conn.get_attendance() == []
    conn.disconnect()


def test_long_names_are_cut_to_the_device_limit(make_simulator: MakeSim) -> None:
    conn = pyzk(make_simulator(SimulatedDevice(max_name_length=10))).connect()
    conn.set_user(uid=1, name="Maximilian Alexander", user_id="1")
    assert conn.get_users()[0].name == "Maximilian"


def test_comm_key(make_simulator: MakeSim) -> None:
    sim = make_simulator(SimulatedDevice(password=123456))
    assert pyzk(sim, password=123456).connect().get_serialnumber()
    with pytest.raises(ZKErrorResponse, match="Unauthenticated"):
        pyzk(sim, password=654321).connect()
    with pytest.raises(ZKErrorResponse, match="Unauthenticated"):
        pyzk(make_simulator(refuse_auth=True)).connect()


def test_keypad_lock_is_recorded(make_simulator: MakeSim) -> None:
    device = SimulatedDevice()
    conn = pyzk(make_simulator(device)).connect()
    conn.disable_device()
    assert device.disabled and device.disable_count == 1
    conn.enable_device()
    assert not device.disabled and device.enable_count == 1


def test_live_capture(make_simulator: MakeSim) -> None:
    device = SimulatedDevice()
    device.populate(users=5)
    conn = pyzk(make_simulator(device)).connect()
    seen = []

    def punch_soon() -> None:
        listening = threading.Event()
        while not listening.wait(0.05):
            if device._listeners:
                listening.set()
        device.punch("3", timestamp=datetime(2026, 4, 1, 9, 30, 5))
        device.punch("4", timestamp=datetime(2026, 4, 1, 9, 31, 0))

    threading.Thread(target=punch_soon, daemon=True).start()
    for event in conn.live_capture(new_timeout=1):
        if event is not None:
            seen.append((event.user_id, event.timestamp))
        if len(seen) == 2:
            conn.end_live_capture = True
    assert seen == [("3", datetime(2026, 4, 1, 9, 30, 5)), ("4", datetime(2026, 4, 1, 9, 31))]
    assert len(device.record_list()) == 2
    conn.disconnect()


def test_udp(make_simulator: MakeSim) -> None:
    device = SimulatedDevice(user_format=28, attendance_format=16)
    device.populate(users=100, records=5_000)
    conn = pyzk(make_simulator(device, udp=True), force_udp=True).connect()
    assert conn.get_serialnumber() == "SIM0000000001"
    assert len(conn.get_users()) == 100
    assert len(conn.get_attendance()) == 5_000
    conn.disconnect()


def test_slow_replies_time_out_in_pyzk(make_simulator: MakeSim) -> None:
    sim = make_simulator(reply_delay=1.0)
    with pytest.raises(ZKNetworkError, match="timed out"):
        ZK(sim.host, port=sim.port, timeout=0.3, ommit_ping=True).connect()


def _exchange(
    sock: socket.socket, command: int, data: bytes = b"", session: int = 0
) -> tuple[int, int, int, bytes]:
    sock.sendall(p.tcp_frame(p.build_packet(command, session, 1, data)))
    magic, length = p.TCP_TOP.unpack(_read(sock, 8))
    assert magic == p.TCP_MAGIC
    packet = _read(sock, length)
    command, chk, session_id, reply_id, payload = p.parse_packet(packet)
    assert chk == p.checksum(p.HEADER.pack(command, 0, session_id, reply_id) + payload)
    return command, session_id, reply_id, payload


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "connection closed"
        data += chunk
    return data


def test_raw_protocol_rules(make_simulator: MakeSim) -> None:
    sim = make_simulator(SimulatedDevice(password=99))
    with socket.create_connection(sim.address, timeout=5) as sock:
        code, session, reply, _ = _exchange(sock, p.CMD_CONNECT)
        assert code == p.CMD_ACK_UNAUTH and session and reply == 1  # reply id echoed
        assert _exchange(sock, p.CMD_GET_VERSION, session=session)[0] == p.CMD_ACK_UNAUTH
        key = p.make_commkey(99, session, ticks=7)
        assert _exchange(sock, p.CMD_AUTH, key, session)[0] == p.CMD_ACK_OK
        assert _exchange(sock, 4242, session=session)[0] == p.CMD_ACK_UNKNOWN
        code, _, _, payload = _exchange(sock, p.CMD_OPTIONS_RRQ, b"~Nonsense\x00", session)
        assert code == p.CMD_ACK_ERROR
        code, _, _, payload = _exchange(sock, p.CMD_GET_VERSION, session=session)
        assert code == p.CMD_ACK_OK and payload.startswith(b"Ver ")
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not the ZK magic: the device hangs up
        assert sock.recv(16) == b""
