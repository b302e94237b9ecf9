"""Plain data the client hands out, and the rules of each firmware's user layout."""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from . import protocol as p
from .exceptions import InvalidUserData
from .text import fit_bytes

USER_DEFAULT = 0
USER_ADMIN = 14
#: The only privileges pyzk writes; it silently turns any other value into 0.
PRIVILEGES = (USER_DEFAULT, USER_ADMIN)


@dataclass(frozen=True)
class DeviceInfo:
    serial_number: str
    firmware_version: str
    platform: str
    device_name: str
    mac: str
    users: int
    records: int
    users_capacity: int
    records_capacity: int


@dataclass(frozen=True)
class DeviceUser:
    """A user on a device. ``uid`` is the device's own slot number (1-65535);
    ``user_id`` is the PIN people type and punches carry."""

    user_id: str
    name: str = ""
    privilege: int = USER_DEFAULT
    password: str = ""
    group_id: str = ""
    card: int = 0
    uid: int | None = None


@dataclass(frozen=True)
class DeviceTemplate:
    """One enrolled fingerprint: ``finger`` 0-9 of the user in device slot ``uid``.
    ``template`` is the device's opaque bytes, kept exactly as read."""

    uid: int
    finger: int
    template: bytes
    valid: int = 1


@dataclass(frozen=True)
class Punch:
    """One attendance record as downloaded (naive device-local time)."""

    user_id: str
    timestamp: datetime
    status: int
    punch: int
    uid: int = 0


@dataclass(frozen=True)
class UserFormat:
    """One firmware generation's user record: 72 bytes ("ZK8") or 28 bytes ("ZK6")."""

    size: int
    name_bytes: int
    password_bytes: int
    user_id_bytes: int
    numeric_ids: bool

    FORMATS: ClassVar[dict[int, UserFormat]]

    @classmethod
    def get(cls, size: int) -> UserFormat:
        try:
            return cls.FORMATS[int(size)]
        except (KeyError, ValueError):
            raise ValueError(f"unknown user record size {size!r}; expected 72 or 28") from None

    def normalize_user_id(self, user_id: str) -> str:
        """The user id as the device will report it (numbers lose leading zeros)."""
        user_id = str(user_id).strip()
        if self.numeric_ids and user_id.isascii() and user_id.isdigit():
            return str(int(user_id))
        return user_id

    def prepare(
        self, user: DeviceUser, device: str, encoding: str, name_max_bytes: int | None
    ) -> DeviceUser:
        """``user`` as this device will keep it, or InvalidUserData naming the field."""

        def bad(field: str, message: str) -> InvalidUserData:
            return InvalidUserData(device, f"user {user.user_id!r}: {message}", field=field)

        if user.uid is None or not 1 <= user.uid <= 65535:
            raise bad("uid", f"device slot (uid) must be 1-65535, not {user.uid!r}")
        user_id = str(user.user_id).strip()
        if not user_id:
            raise bad("user_id", "the user id is empty")
        if self.numeric_ids:
            if not user_id.isascii() or not user_id.isdigit() or int(user_id) > 0xFFFFFFFF:
                raise bad(
                    "user_id",
                    "this device keeps user ids as numbers (28-byte user records), so "
                    "the user id must be digits only, at most 4294967295",
                )
            user_id = str(int(user_id))
        elif len(user_id.encode("utf-8")) > self.user_id_bytes:
            raise bad("user_id", f"the user id is longer than {self.user_id_bytes} bytes")
        if user.privilege not in PRIVILEGES:
            raise bad(
                "privilege", f"privilege must be 0 (user) or 14 (admin), not {user.privilege!r}"
            )
        password = str(user.password or "")
        if len(password.encode(encoding, "replace")) > self.password_bytes:
            raise bad("password", f"the password is longer than {self.password_bytes} bytes")
        if not 0 <= int(user.card or 0) <= 0xFFFFFFFF:
            raise bad("card", "the card number does not fit in 32 bits")
        group_id = str(user.group_id or "").strip()
        if self.numeric_ids and group_id and (not group_id.isdigit() or int(group_id) > 255):
            raise bad("group_id", "the group must be a number 0-255 on this device")
        if not self.numeric_ids and len(group_id.encode("utf-8")) > 7:
            raise bad("group_id", "the group id is longer than 7 bytes")
        limit = min(self.name_bytes, name_max_bytes or self.name_bytes)
        name = fit_bytes(str(user.name or "").strip(), limit, encoding).decode(encoding).strip()
        if self.numeric_ids and not group_id:
            group_id = "0"  # how the device reports "no group" in this layout
        return replace(
            user,
            user_id=user_id,
            name=name,
            password=password,
            group_id=group_id,
            card=int(user.card or 0),
        )

    def upload_record(self, user: DeviceUser, encoding: str) -> bytes:
        """``user`` (as returned by ``prepare``) packed for a buffered upload."""
        text = {
            "password": user.password.encode(encoding),
            "name": user.name.encode(encoding),
        }
        if self.numeric_ids:
            group = int(user.group_id or 0)
            return p.UPLOAD_USER28.pack(
                2, user.uid, user.privilege, text["password"], text["name"], user.card,
                group, 0, int(user.user_id),
            )  # fmt: skip
        return p.UPLOAD_USER72.pack(
            2, user.uid, user.privilege, text["password"], text["name"], user.card, 1,
            user.group_id.encode(), user.user_id.encode(),
        )  # fmt: skip

    def pyzk_arguments(self, user: DeviceUser, encoding: str, transport: str) -> dict[str, Any]:
        """Keyword arguments for pyzk's ``set_user``; text goes as bytes-in-``transport``."""
        return {
            "uid": user.uid,
            "name": user.name.encode(encoding).decode(transport),
            "privilege": user.privilege,
            "password": user.password.encode(encoding).decode(transport),
            "group_id": user.group_id,
            "user_id": user.user_id,
            "card": user.card,
        }


UserFormat.FORMATS = {
    72: UserFormat(size=72, name_bytes=24, password_bytes=8, user_id_bytes=24, numeric_ids=False),
    28: UserFormat(size=28, name_bytes=8, password_bytes=5, user_id_bytes=10, numeric_ids=True),
}

_LAYOUTS = {40: p.ATT40, 16: p.ATT16, 8: p.ATT8}


def parse_attendance(data: bytes, expected: int, pins: dict[int, str]) -> tuple[list[Punch], int]:
    """Decode an attendance data set: (punches, number of records skipped as unreadable).

    The record size is taken from the data (not from the count read before the
    download, which a punch arriving meanwhile makes stale). ``pins`` maps uid to
    user id for layouts that carry only the uid.
    """
    if len(data) < 4:
        raise ValueError("the data set is shorter than its size field")
    total = struct.unpack_from("<I", data)[0]
    body = data[4 : 4 + total]
    if len(body) != total:
        raise ValueError(f"announced {total} bytes of records, received {len(body)}")
    if not total:
        return [], 0
    fits = [size for size in _LAYOUTS if total % size == 0]
    if not fits:
        raise ValueError(f"{total} bytes is not a whole number of records")
    size = min(fits, key=lambda s: (abs(total // s - expected), -s))
    punches: list[Punch] = []
    skipped = 0
    for fields in _LAYOUTS[size].iter_unpack(body):
        try:
            punches.append(_punch(size, fields, pins))
        except (ValueError, UnicodeDecodeError):
            skipped += 1
    return punches, skipped


def _punch(size: int, fields: tuple[Any, ...], pins: dict[int, str]) -> Punch:
    if size == 40:
        uid, pin, status, when, punch, _space = fields
        user_id = pin.split(b"\x00", 1)[0].decode("utf-8")
    elif size == 16:
        pin, when, status, punch, _reserved, _workcode = fields
        user_id, uid = str(pin), 0
    else:
        uid, status, when, punch = fields
        user_id = pins.get(uid, str(uid))
    if not user_id:
        raise ValueError("record without a user id")
    timestamp = p.decode_time(int.from_bytes(when, "little"))
    return Punch(user_id=user_id, timestamp=timestamp, status=status, punch=punch, uid=uid)
