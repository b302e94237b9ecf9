"""One client conversation with the simulated device: the command handlers."""

from __future__ import annotations

import logging
import random
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import protocol as p
from .device import SimRecord
from .templates import TemplateCommands

if TYPE_CHECKING:
    from .server import Simulator

logger = logging.getLogger("bulkops.contrib.zk.simulator")

# Data sets up to this size are answered inline with CMD_DATA; larger ones go through
# the buffered path. A UDP client reads such a reply with recv(1024).
INLINE_DATA_LIMIT = 1024 - 8
UDP_DATA_PACKET = 1024
MAX_PACKET = 1 << 20


class Session(TemplateCommands):
    """One client conversation; ``send`` is the only way bytes leave it."""

    def __init__(
        self,
        server: Simulator,
        send_raw: Callable[[bytes], None],
        close_transport: Callable[[], None],
        *,
        tcp: bool,
    ) -> None:
        self.server = server
        self.device = server.device
        self.faults = server.faults
        self.tcp = tcp
        self._send_raw = send_raw
        self._close_transport = close_transport
        self._send_lock = threading.Lock()
        self.session_id = 0
        self.authenticated = False
        self.buffer: bytes | None = None
        self.event_flags = 0
        self._events: deque[bytes] = deque()
        self._awaiting_ack = False
        self._event_lock = threading.Lock()
        self.closed = False

    # Output -----------------------------------------------------------------------
    def send(
        self, command: int, reply_id: int, data: bytes = b"", *, session_id: int | None = None
    ) -> None:
        self.send_many([(command, reply_id, data)], session_id=session_id)

    def send_many(
        self, packets: list[tuple[int, int, bytes]], *, session_id: int | None = None
    ) -> None:
        sid = self.session_id if session_id is None else session_id
        with self._send_lock:
            if self.tcp and not self.faults.reply_delay:
                # One write for the whole train, like the device's single TCP segment burst.
                self._send_raw(
                    b"".join(p.tcp_frame(p.build_packet(c, sid, r, d)) for c, r, d in packets)
                )
                return
            for command, reply_id, data in packets:
                if self.faults.reply_delay:
                    time.sleep(self.faults.reply_delay)
                packet = p.build_packet(command, sid, reply_id, data)
                self._send_raw(p.tcp_frame(packet) if self.tcp else packet)

    def cut_off(self, command: int, reply_id: int, data: bytes, prefix: list[bytes]) -> None:
        """Send ``prefix`` frames and half of a data packet, then drop the connection."""
        packet = p.build_packet(command, self.session_id, reply_id, data)
        frame = p.tcp_frame(packet) if self.tcp else packet
        with self._send_lock:
            self._send_raw(b"".join(prefix) + frame[: max(len(frame) // 2, 1)])
        logger.info("simulator: dropping the connection mid-transfer (fault injection)")
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.device.remove_listener(self._on_record)
        self._close_transport()

    # Input ------------------------------------------------------------------------
    def handle(self, packet: bytes) -> bool:
        """Answer one packet; False ends the conversation."""
        command, _chk, _sid, reply_id, data = p.parse_packet(packet)
        if command == p.CMD_ACK_OK:  # the client acknowledging a real-time event
            self._event_acked()
            return True
        if command == p.CMD_CONNECT:
            self.session_id = random.randint(1, p.USHRT_MAX - 1)
            self.authenticated = not (self.device.password or self.faults.refuse_auth)
            self.send(p.CMD_ACK_OK if self.authenticated else p.CMD_ACK_UNAUTH, reply_id)
            return True
        if command == p.CMD_AUTH:
            self.authenticated = not self.faults.refuse_auth and p.commkey_matches(
                data, self.device.password, self.session_id
            )
            self.send(p.CMD_ACK_OK if self.authenticated else p.CMD_ACK_UNAUTH, reply_id)
            return True
        if command == p.CMD_EXIT:
            self.send(p.CMD_ACK_OK, reply_id)
            return False
        if not self.authenticated:
            self.send(p.CMD_ACK_UNAUTH, reply_id)
            return True
        handler = self._handlers.get(command)
        if handler is None:
            self.send(p.CMD_ACK_UNKNOWN, reply_id)
            return True
        return handler(self, reply_id, data) is not False

    def _ok(self, reply_id: int, data: bytes) -> None:
        self.send(p.CMD_ACK_OK, reply_id)

    def _version(self, reply_id: int, data: bytes) -> None:
        self.send(p.CMD_ACK_OK, reply_id, self.device.firmware_version.encode() + b"\x00")

    def _options_read(self, reply_id: int, data: bytes) -> None:
        key = data.split(b"\x00", 1)[0].decode("ascii", "replace")
        with self.device.lock:
            value = self.device.options.get(key)
        if value is None:
            self.send(p.CMD_ACK_ERROR, reply_id)
        else:
            self.send(p.CMD_ACK_OK, reply_id, f"{key}={value}".encode() + b"\x00")

    def _options_write(self, reply_id: int, data: bytes) -> None:
        key, sep, value = data.split(b"\x00", 1)[0].decode("ascii", "replace").partition("=")
        if not sep:
            self.send(p.CMD_ACK_ERROR, reply_id)
            return
        with self.device.lock:
            self.device.options[key] = value
        self.send(p.CMD_ACK_OK, reply_id)

    def _sizes(self, reply_id: int, data: bytes) -> None:
        self.send(p.CMD_ACK_OK, reply_id, self.device.free_sizes())

    def _pin_width(self, reply_id: int, data: bytes) -> None:
        self.send(p.CMD_ACK_OK, reply_id, bytes((24 if self.device.user_format == 72 else 9,)))

    def _get_time(self, reply_id: int, data: bytes) -> None:
        self.send(p.CMD_ACK_OK, reply_id, struct.pack("<I", p.encode_time(self.device.now())))

    def _set_time(self, reply_id: int, data: bytes) -> None:
        try:
            value = p.decode_time(struct.unpack_from("<I", data)[0])
        except (struct.error, ValueError):
            self.send(p.CMD_ACK_ERROR, reply_id)
            return
        self.device.set_time(value)
        self.send(p.CMD_ACK_OK, reply_id)

    def _disable(self, reply_id: int, data: bytes) -> None:
        self.device.set_disabled(True)
        self.send(p.CMD_ACK_OK, reply_id)

    def _enable(self, reply_id: int, data: bytes) -> None:
        self.device.set_disabled(False)
        self.send(p.CMD_ACK_OK, reply_id)

    def _user_write(self, reply_id: int, data: bytes) -> None:
        user = self.device.parse_user(data)
        ok = user is not None and user.uid > 0 and self.device.store_user(user)
        self.send(p.CMD_ACK_OK if ok else p.CMD_ACK_ERROR, reply_id)

    def _user_delete(self, reply_id: int, data: bytes) -> None:
        # An empty slot is answered OK too: deleting is "make sure the slot is free".
        self.device.delete_user(struct.unpack_from("<H", data.ljust(2, b"\x00"))[0])
        self.send(p.CMD_ACK_OK, reply_id)

    def _clear_attendance(self, reply_id: int, data: bytes) -> None:
        self.device.clear_attendance()
        self.send(p.CMD_ACK_OK, reply_id)

    def _clear_data(self, reply_id: int, data: bytes) -> None:
        self.device.clear_all()
        self.send(p.CMD_ACK_OK, reply_id)

    def _restart(self, reply_id: int, data: bytes) -> bool:
        self.send(p.CMD_ACK_OK, reply_id)
        self.device.set_disabled(False)
        return False

    def _free_data(self, reply_id: int, data: bytes) -> None:
        self.buffer = None
        self.upload = None
        self.send(p.CMD_ACK_OK, reply_id)

    def _prepare_buffer(self, reply_id: int, data: bytes) -> bool:
        _flag, command, fct, _ext = struct.unpack_from("<bhii", data.ljust(11, b"\x00"))
        if command == p.CMD_USERTEMP_RRQ and fct == p.FCT_USER:
            table = self.device.user_table()
        elif command == p.CMD_ATTLOG_RRQ:
            table = self.device.attendance_table()
        elif command in (p.CMD_DB_RRQ, p.CMD_USERTEMP_RRQ) and fct == p.FCT_FINGERTMP:
            table = self.device.template_table()
        else:
            self.send(p.CMD_ACK_ERROR, reply_id)
            return True
        if len(table) <= INLINE_DATA_LIMIT:
            if self.faults.take_drop():
                self.cut_off(p.CMD_DATA, reply_id, table, [])
                return False
            self.send(p.CMD_DATA, reply_id, table)
            return True
        self.buffer = table
        # 0, size, size, and a checksum-like word clients ignore.
        stat = struct.pack("<BIII", 0, len(table), len(table), p.checksum(table))
        self.send(p.CMD_ACK_OK, reply_id, stat)
        return True

    def _read_buffer(self, reply_id: int, data: bytes) -> bool:
        start, size = struct.unpack_from("<ii", data.ljust(8, b"\x00"))
        buffer = self.buffer
        if buffer is None or start < 0 or size <= 0 or start + size > len(buffer):
            self.send(p.CMD_ACK_ERROR, reply_id)
            return True
        chunk = buffer[start : start + size]
        prepare = struct.pack("<II", size, 0)
        if self.faults.take_drop():
            prepare_frame = p.build_packet(p.CMD_PREPARE_DATA, self.session_id, reply_id, prepare)
            self.cut_off(
                p.CMD_DATA,
                reply_id,
                chunk,
                [p.tcp_frame(prepare_frame)] if self.tcp else [prepare_frame],
            )
            return False
        if self.tcp:
            packets = [(p.CMD_DATA, reply_id, chunk)]
        else:
            packets = [
                (p.CMD_DATA, reply_id, chunk[i : i + UDP_DATA_PACKET])
                for i in range(0, len(chunk), UDP_DATA_PACKET)
            ]
        self.send_many(
            [(p.CMD_PREPARE_DATA, reply_id, prepare), *packets, (p.CMD_ACK_OK, reply_id, b"")]
        )
        return True

    def _reg_event(self, reply_id: int, data: bytes) -> None:
        self.event_flags = struct.unpack_from("<I", data.ljust(4, b"\x00"))[0]
        with self._event_lock:
            self._events.clear()
            self._awaiting_ack = False
        if self.event_flags & p.EF_ATTLOG:
            self.device.add_listener(self._on_record)
        else:
            self.device.remove_listener(self._on_record)
        self.send(p.CMD_ACK_OK, reply_id)

    # Real-time events: one in flight at a time, the next after the client's ACK_OK.
    def _on_record(self, record: SimRecord) -> None:
        with self._event_lock:
            self._events.append(self.device.event_payload(record))
            self._pump_events()

    def _event_acked(self) -> None:
        with self._event_lock:
            self._awaiting_ack = False
            self._pump_events()

    def _pump_events(self) -> None:
        if self._awaiting_ack or not self._events or self.closed:
            return
        payload = self._events.popleft()
        self._awaiting_ack = True
        try:
            self.send(p.CMD_REG_EVENT, 0, payload, session_id=p.EF_ATTLOG)
        except OSError:
            self.close()

    _handlers: dict[int, Callable[[Session, int, bytes], bool | None]] = {
        p.CMD_GET_VERSION: _version,
        p.CMD_OPTIONS_RRQ: _options_read,
        p.CMD_OPTIONS_WRQ: _options_write,
        p.CMD_GET_FREE_SIZES: _sizes,
        p.CMD_GET_PINWIDTH: _pin_width,
        p.CMD_GET_TIME: _get_time,
        p.CMD_SET_TIME: _set_time,
        p.CMD_DISABLEDEVICE: _disable,
        p.CMD_ENABLEDEVICE: _enable,
        p.CMD_USER_WRQ: _user_write,
        p.CMD_DELETE_USER: _user_delete,
        p.CMD_CLEAR_ATTLOG: _clear_attendance,
        p.CMD_CLEAR_DATA: _clear_data,
        p.CMD_RESTART: _restart,
        p.CMD_POWEROFF: _restart,
        p.CMD_FREE_DATA: _free_data,
        p.CMD_PREPARE_BUFFER: _prepare_buffer,
        p.CMD_READ_BUFFER: _read_buffer,
        p.CMD_REG_EVENT: _reg_event,
        p.CMD_REFRESHDATA: _ok,
        p.CMD_REFRESHOPTION: _ok,
        p.CMD_CANCELCAPTURE: _ok,
        p.CMD_STARTVERIFY: _ok,
        p.CMD_UNLOCK: _ok,
        p.CMD_TESTVOICE: _ok,
        p.CMD_PREPARE_DATA: TemplateCommands._prepare_upload,
        p.CMD_DATA: TemplateCommands._upload_chunk,
        p.CMD_SAVE_USERTEMPS: TemplateCommands._save_usertemps,
        p.CMD_GET_USERTEMP: TemplateCommands._get_usertemp,
        p.CMD_DELETE_USERTEMP: TemplateCommands._delete_usertemp,
        p.CMD_DEL_USER_TEMP: TemplateCommands._delete_usertemp_by_pin,
    }
