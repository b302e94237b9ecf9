"""Fingerprint templates on the simulated device: the buffered upload and the reads.

pyzk's ``save_user_template`` (and ``HR_save_usertemplates`` of later pyzk) write
users with their templates in one upload: ``CMD_FREE_DATA``, ``CMD_PREPARE_DATA``
announcing the size, ``CMD_DATA`` packets of at most 1 KiB, then
``CMD_SAVE_USERTEMPS`` to apply it. ``get_templates`` reads them all through the
buffered read; ``get_user_template`` asks for one with ``CMD_GET_USERTEMP``, which
a device answers with a prepared-data train (CMD_PREPARE_DATA with the size, the
data, CMD_ACK_OK), the template followed by one byte: its valid flag, as in the
captures of real devices in pyzk's own tests.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .. import protocol as p
from .device import SimTemplate, SimUser

if TYPE_CHECKING:
    from .device import SimulatedDevice

#: Largest upload the simulated device accepts (a real one is bounded by its RAM).
MAX_UPLOAD = 8 << 20
#: The chunk size a device announces in a CMD_GET_USERTEMP answer. Over TCP the data
#: goes as one CMD_DATA packet: a device's 1008-byte packets only work with pyzk when
#: they arrive slowly, since pyzk waits for more bytes after the first one whatever
#: it already holds; over UDP each datagram carries at most 1 KiB.
TEMPLATE_PACKET = 1008
UDP_PACKET = 1024


def parse_upload(device: SimulatedDevice, data: bytes) -> tuple[list[SimUser], list[SimTemplate]]:
    """Decode an upload buffer; ValueError when any part does not add up."""
    if len(data) < p.UPLOAD_HEAD.size:
        raise ValueError("upload shorter than its header")
    users_size, table_size, fingers_size = p.UPLOAD_HEAD.unpack_from(data)
    start = p.UPLOAD_HEAD.size
    if start + users_size + table_size + fingers_size != len(data):
        raise ValueError("upload sizes do not match its length")
    record = device.user_format + 1  # a flag byte, then the device's user record
    if users_size % record or table_size % p.UPLOAD_ENTRY.size:
        raise ValueError("upload parts are not whole records")
    users_part = data[start : start + users_size]
    table = data[start + users_size : start + users_size + table_size]
    fingers = data[start + users_size + table_size :]
    users = []
    for offset in range(0, users_size, record):
        user = device.parse_user(users_part[offset + 1 : offset + record])
        if user is None or user.uid < 1:
            raise ValueError("unreadable user record")
        users.append(user)
    templates = []
    for _flag, uid, finger, offset in p.UPLOAD_ENTRY.iter_unpack(table):
        fid = finger & 0x0F
        if fid not in p.FINGERS or offset + p.UPLOAD_TEMPLATE_SIZE.size > len(fingers):
            raise ValueError("bad template table entry")
        (size,) = p.UPLOAD_TEMPLATE_SIZE.unpack_from(fingers, offset)
        begin = offset + p.UPLOAD_TEMPLATE_SIZE.size
        if not size or begin + size > len(fingers):
            raise ValueError("template outside the upload")
        templates.append(
            SimTemplate(uid=uid, fid=fid, template=bytes(fingers[begin : begin + size]))
        )
    return users, templates


class TemplateCommands:
    """Command handlers mixed into the simulator's Session."""

    device: SimulatedDevice
    tcp: bool
    upload: bytearray | None = None
    upload_size = 0

    if TYPE_CHECKING:  # provided by Session

        def send(self, command: int, reply_id: int, data: bytes = b"") -> None: ...
        def send_many(self, packets: list[tuple[int, int, bytes]]) -> None: ...

    def _prepare_upload(self, reply_id: int, data: bytes) -> None:
        size = struct.unpack_from("<I", data.ljust(4, b"\x00"))[0]
        if not 0 < size <= MAX_UPLOAD:
            self.upload = None
            self.send(p.CMD_ACK_ERROR, reply_id)
            return
        self.upload, self.upload_size = bytearray(), size
        self.send(p.CMD_ACK_OK, reply_id)

    def _upload_chunk(self, reply_id: int, data: bytes) -> None:
        upload = self.upload
        if upload is None or len(upload) + len(data) > self.upload_size:
            self.send(p.CMD_ACK_ERROR, reply_id)
            return
        upload += data
        self.send(p.CMD_ACK_OK, reply_id)

    def _save_usertemps(self, reply_id: int, data: bytes) -> None:
        upload, self.upload = self.upload, None
        ok = False
        if upload is not None and len(upload) == self.upload_size:
            try:
                users, templates = parse_upload(self.device, bytes(upload))
            except (ValueError, struct.error):
                pass
            else:
                ok = self.device.store_upload(users, templates)
        self.send(p.CMD_ACK_OK if ok else p.CMD_ACK_ERROR, reply_id)

    def _get_usertemp(self, reply_id: int, data: bytes) -> None:
        uid, fid = struct.unpack_from("<hb", data.ljust(3, b"\x00"))
        with self.device.lock:
            found = self.device.templates.get((uid, fid))
        if found is None:
            self.send(p.CMD_ACK_ERROR, reply_id)
            return
        payload = found.template + bytes((found.valid,))
        step = len(payload) if self.tcp else UDP_PACKET
        self.send_many(
            [
                (p.CMD_PREPARE_DATA, reply_id, struct.pack("<II", len(payload), TEMPLATE_PACKET)),
                *(
                    (p.CMD_DATA, reply_id, payload[i : i + step])
                    for i in range(0, len(payload), step)
                ),
                (p.CMD_ACK_OK, reply_id, b""),
            ]
        )

    def _delete_usertemp(self, reply_id: int, data: bytes) -> None:
        uid, fid = struct.unpack_from("<hb", data.ljust(3, b"\x00"))
        ok = self.device.delete_template(uid, fid)
        self.send(p.CMD_ACK_OK if ok else p.CMD_ACK_ERROR, reply_id)

    def _delete_usertemp_by_pin(self, reply_id: int, data: bytes) -> None:
        pin, fid = struct.unpack_from("<24sB", data.ljust(25, b"\x00"))
        uid = self.device.uid_of(pin.split(b"\x00", 1)[0].decode("utf-8", "replace"))
        ok = uid is not None and self.device.delete_template(uid, fid)
        self.send(p.CMD_ACK_OK if ok else p.CMD_ACK_ERROR, reply_id)
