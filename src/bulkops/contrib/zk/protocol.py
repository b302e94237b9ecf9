"""Wire format of the ZKTeco "standalone" protocol, as spoken by TCP/UDP port 4370.

Written from the public protocol notes. The simulator answers clients (pyzk in
particular) with it byte for byte the way a device does; the client parses the
attendance log with it.
"""

from __future__ import annotations

import struct
from array import array
from datetime import datetime

USHRT_MAX = 65535

# Commands sent by the client.
CMD_DB_RRQ = 7
CMD_USER_WRQ = 8
CMD_USERTEMP_RRQ = 9
CMD_OPTIONS_RRQ = 11
CMD_OPTIONS_WRQ = 12
CMD_ATTLOG_RRQ = 13
CMD_CLEAR_DATA = 14
CMD_CLEAR_ATTLOG = 15
CMD_DELETE_USER = 18
CMD_DELETE_USERTEMP = 19
CMD_UNLOCK = 31
CMD_GET_FREE_SIZES = 50
CMD_STARTVERIFY = 60
CMD_CANCELCAPTURE = 62
CMD_GET_PINWIDTH = 69
CMD_GET_USERTEMP = 88  # undocumented: one template by (uid, finger)
CMD_SAVE_USERTEMPS = 110  # undocumented: store the uploaded users and templates
CMD_DEL_USER_TEMP = 134  # undocumented: delete one template by (PIN, finger)
CMD_GET_TIME = 201
CMD_SET_TIME = 202
CMD_REG_EVENT = 500
CMD_CONNECT = 1000
CMD_EXIT = 1001
CMD_ENABLEDEVICE = 1002
CMD_DISABLEDEVICE = 1003
CMD_RESTART = 1004
CMD_POWEROFF = 1005
CMD_REFRESHDATA = 1013
CMD_REFRESHOPTION = 1014
CMD_TESTVOICE = 1017
CMD_GET_VERSION = 1100
CMD_AUTH = 1102
CMD_PREPARE_DATA = 1500
CMD_DATA = 1501
CMD_FREE_DATA = 1502
CMD_PREPARE_BUFFER = 1503  # a.k.a. CMD_DATA_WRRQ: "prepare this data set for reading"
CMD_READ_BUFFER = 1504  # a.k.a. CMD_DATA_RDY: "send me this slice of it"

# Replies.
CMD_ACK_OK = 2000
CMD_ACK_ERROR = 2001
CMD_ACK_DATA = 2002
CMD_ACK_RETRY = 2003
CMD_ACK_REPEAT = 2004
CMD_ACK_UNAUTH = 2005
CMD_ACK_UNKNOWN = 0xFFFF

# Real-time event flags (CMD_REG_EVENT payload, and the event id of a pushed event).
EF_ATTLOG = 1

# Function codes inside a CMD_PREPARE_BUFFER request.
FCT_ATTLOG = 1
FCT_FINGERTMP = 2
FCT_USER = 5

TCP_MAGIC = b"\x50\x50\x82\x7d"
TCP_TOP = struct.Struct("<4sI")
HEADER = struct.Struct("<4H")

# Users: 72 bytes on "ZK8" firmware, 28 bytes on older "ZK6" firmware.
USER72 = struct.Struct("<HB8s24sIx7sx24s")
USER28 = struct.Struct("<HB5s8sIxBhI")
USER_FORMATS = (72, 28)

# Attendance records: 40 bytes (string PIN), 16 bytes (numeric PIN), 8 bytes (uid only).
ATT40 = struct.Struct("<H24sB4sB8s")
ATT16 = struct.Struct("<I4sBB2sI")
ATT8 = struct.Struct("<HB4sB")
ATTENDANCE_FORMATS = (40, 16, 8)

# Fingerprint templates. A read returns, after a 4-byte total size, one record per
# template: record size (header included), uid, finger (0-9), valid flag, template.
TEMPLATE_HEAD = struct.Struct("<HHbb")
# An upload (CMD_PREPARE_DATA / CMD_DATA, then CMD_SAVE_USERTEMPS) carries the sizes
# of three parts, then users (a flag byte + a user record), a table of templates
# (flag, uid, 0x10 + finger, offset into the last part) and the templates, each
# prefixed by its size.
UPLOAD_HEAD = struct.Struct("<III")
UPLOAD_ENTRY = struct.Struct("<bHbI")
UPLOAD_TEMPLATE_SIZE = struct.Struct("<H")
# Users in an upload: as USER72 / USER28 behind a flag byte (2); pyzk writes 1 into
# the 72-byte record's spare byte after the card number.
UPLOAD_USER72 = struct.Struct("<BHB8s24sIB7sx24s")
UPLOAD_USER28 = struct.Struct("<BHB5s8sIxBhI")
FINGERS = range(10)

# Real-time attendance event payloads.
EVENT36 = struct.Struct("<24sBB6s4s")
EVENT12 = struct.Struct("<IBB6s")


def checksum(packet: bytes) -> int:
    """The 16-bit ones'-complement style checksum of zkemsdk's ``in_chksum``.

    Summing 16-bit words and folding every overflow by subtracting 0xFFFF is the
    same as taking the sum modulo 0xFFFF (with 0xFFFF standing for a non-zero
    multiple), which lets us sum a 64 KiB data packet with ``array`` at C speed.
    """
    even = len(packet) - (len(packet) % 2)
    words = array("H")
    words.frombytes(packet[:even])
    if words.itemsize != 2 or struct.pack("=H", 1) != b"\x01\x00":  # pragma: no cover
        words = array("H", struct.unpack(f"<{even // 2}H", packet[:even]))
    total = sum(words)
    if len(packet) % 2:
        total += packet[-1]
    folded = 0 if total == 0 else (total - 1) % USHRT_MAX + 1
    return USHRT_MAX - 1 - folded if folded < USHRT_MAX else USHRT_MAX - 1


def build_packet(command: int, session_id: int, reply_id: int, data: bytes = b"") -> bytes:
    """An 8-byte command header plus data, with its checksum filled in."""
    raw = HEADER.pack(command, 0, session_id, reply_id) + data
    return HEADER.pack(command, checksum(raw), session_id, reply_id) + data


def tcp_frame(packet: bytes) -> bytes:
    return TCP_TOP.pack(TCP_MAGIC, len(packet)) + packet


def parse_packet(packet: bytes) -> tuple[int, int, int, int, bytes]:
    """(command, checksum, session_id, reply_id, data) of one packet."""
    if len(packet) < HEADER.size:
        raise ValueError(f"packet of {len(packet)} bytes is shorter than its header")
    command, chk, session_id, reply_id = HEADER.unpack_from(packet)
    return command, chk, session_id, reply_id, packet[HEADER.size :]


def encode_time(value: datetime) -> int:
    """The device's packed timestamp: seconds in a calendar of 31-day months since 2000."""
    return (
        ((value.year % 100) * 12 * 31 + (value.month - 1) * 31 + value.day - 1) * 86400
        + (value.hour * 60 + value.minute) * 60
        + value.second
    )


def decode_time(packed: int) -> datetime:
    second = packed % 60
    packed //= 60
    minute = packed % 60
    packed //= 60
    hour = packed % 24
    packed //= 24
    day = packed % 31 + 1
    packed //= 31
    month = packed % 12 + 1
    packed //= 12
    return datetime(packed + 2000, month, day, hour, minute, second)


def encode_timehex(value: datetime) -> bytes:
    """The six-byte (YY, MM, DD, hh, mm, ss) time used by real-time events."""
    return bytes((value.year % 100, value.month, value.day, value.hour, value.minute, value.second))


def make_commkey(key: int, session_id: int, ticks: int = 50) -> bytes:
    """The 4-byte scrambled comm key a client sends with CMD_AUTH (commpro.c MakeKey)."""
    k = 0
    for i in range(32):
        k = (k << 1 | 1) if key & (1 << i) else k << 1
    k = (k + session_id) & 0xFFFFFFFF
    b = bytearray(struct.pack("<I", k))
    b = bytearray((b[0] ^ ord("Z"), b[1] ^ ord("K"), b[2] ^ ord("S"), b[3] ^ ord("O")))
    b = b[2:4] + b[0:2]
    t = ticks & 0xFF
    return bytes((b[0] ^ t, b[1] ^ t, t, b[3] ^ t))


def commkey_matches(received: bytes, key: int, session_id: int) -> bool:
    """True when ``received`` is ``key`` scrambled for this session, whatever ticks it used."""
    if len(received) < 4:
        return False
    return received[:4] == make_commkey(key, session_id, ticks=received[2])
