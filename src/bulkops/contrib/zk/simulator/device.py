"""The state of one simulated time clock: users, fingerprint templates, attendance log,
options, keypad lock."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .. import protocol as p


@dataclass(frozen=True)
class SimUser:
    """A user as the device stores it: text fields are raw bytes, as on the flash."""

    uid: int
    user_id: str
    name: bytes = b""
    privilege: int = 0
    password: bytes = b""
    group_id: str = ""
    card: int = 0


@dataclass(frozen=True)
class SimRecord:
    """One attendance punch in the device's log."""

    user_id: str
    timestamp: datetime
    status: int = 1
    punch: int = 0
    uid: int = 0


@dataclass(frozen=True)
class SimTemplate:
    """One enrolled finger (0-9) of the user in slot ``uid``; ``template`` is opaque."""

    uid: int
    fid: int
    template: bytes
    valid: int = 1


_FAULTS_LOCK = threading.Lock()


@dataclass
class Faults:
    """Misbehaviour to inject, for tests of the client's error handling.

    ``drop_mid_transfer`` counts buffered transfers to cut off halfway through their
    data (the device closes the socket); ``-1`` cuts every one.
    """

    refuse_auth: bool = False
    reply_delay: float = 0.0
    drop_mid_transfer: int = 0

    def take_drop(self) -> bool:
        with _FAULTS_LOCK:  # sessions run on their own threads
            if self.drop_mid_transfer == 0:
                return False
            if self.drop_mid_transfer > 0:
                self.drop_mid_transfer -= 1
            return True


EventListener = Callable[[SimRecord], None]


class SimulatedDevice:
    """Everything a ZKTeco device remembers, guarded by one lock.

    ``user_format`` (72 or 28) and ``attendance_format`` (40, 16 or 8) choose the
    record layouts, which is how clients tell firmware generations apart.
    """

    def __init__(
        self,
        *,
        serial_number: str = "SIM0000000001",
        firmware_version: str = "Ver 6.60 Apr 28 2017",
        platform: str = "ZMM220_TFT",
        device_name: str = "bulkops-sim",
        mac: str = "00:17:61:c8:00:01",
        password: int = 0,
        user_format: int = 72,
        attendance_format: int = 40,
        max_name_length: int = 24,
        users_capacity: int = 10_000,
        records_capacity: int = 200_000,
        fingers_capacity: int = 3_000,
    ) -> None:
        if user_format not in p.USER_FORMATS:
            raise ValueError(f"user_format must be one of {p.USER_FORMATS}, not {user_format}")
        if attendance_format not in p.ATTENDANCE_FORMATS:
            raise ValueError(
                f"attendance_format must be one of {p.ATTENDANCE_FORMATS}, not {attendance_format}"
            )
        self.lock = threading.RLock()
        self.password = password
        self.user_format = user_format
        self.attendance_format = attendance_format
        self.max_name_length = max_name_length
        self.users_capacity = users_capacity
        self.records_capacity = records_capacity
        self.fingers_capacity = fingers_capacity
        self.firmware_version = firmware_version
        self.options: dict[str, str] = {
            "~SerialNumber": serial_number,
            "~Platform": platform,
            "~DeviceName": device_name,
            "~ZKFPVersion": "10",
            "ZKFaceVersion": "0",
            "FaceFunOn": "0",
            "~ExtendFmt": "1" if attendance_format == 40 else "0",
            "~UserExtFmt": "1" if user_format == 72 else "0",
            "CompatOldFirmware": "0",
            "MAC": mac,
            "IPAddress": "127.0.0.1",
            "NetMask": "255.255.255.0",
            "GATEIPAddress": "0.0.0.0",
        }
        self.users: dict[int, SimUser] = {}
        self._uid_by_pin: dict[str, int] = {}
        self.templates: dict[tuple[int, int], SimTemplate] = {}
        self.records: list[SimRecord] = []
        self.disabled = False
        self.clock_offset = timedelta()
        # Counters tests assert on: how often the keypad was locked and unlocked.
        self.disable_count = 0
        self.enable_count = 0
        self._listeners: list[EventListener] = []

    # Read-only views ------------------------------------------------------------
    @property
    def serial_number(self) -> str:
        return self.options["~SerialNumber"]

    def user_list(self) -> list[SimUser]:
        with self.lock:
            return sorted(self.users.values(), key=lambda u: u.uid)

    def template_list(self) -> list[SimTemplate]:
        with self.lock:
            return [self.templates[key] for key in sorted(self.templates)]

    def uid_of(self, user_id: str) -> int | None:
        with self.lock:
            return self._uid_by_pin.get(user_id)

    def record_list(self) -> list[SimRecord]:
        with self.lock:
            return list(self.records)

    def now(self) -> datetime:
        return (datetime.now() + self.clock_offset).replace(microsecond=0)

    # Changes ----------------------------------------------------------------------
    def populate(
        self, *, users: int = 0, records: int = 0, fingers: int = 0, start: datetime | None = None
    ) -> None:
        """Fill the device with ``users`` users (each with ``fingers`` enrolled fingers
        of sample bytes) and ``records`` punches, deterministically."""
        start = start or datetime(2026, 1, 5, 7, 0, 0)
        with self.lock:
            for uid in range(1, users + 1):
                self.store_user(SimUser(uid=uid, user_id=str(uid), name=self._sample_name(uid)))
                for fid in range(min(fingers, len(p.FINGERS))):
                    sample = random.Random(uid * 10 + fid)
                    template = sample.randbytes(sample.randrange(500, 1600))
                    self.templates[(uid, fid)] = SimTemplate(uid, fid, template)
            pool = max(users, 1)
            for n in range(records):
                user_no = n % pool + 1
                self.records.append(
                    SimRecord(
                        user_id=str(user_no),
                        timestamp=start + timedelta(seconds=37 * n),
                        status=1,
                        punch=n % 2,
                        uid=user_no,
                    )
                )

    def _sample_name(self, uid: int) -> bytes:
        # 28-byte records keep 8 bytes of name: keep generated names whole on both.
        return (f"User {uid:05d}" if self.user_format == 72 else f"U{uid:05d}").encode()

    def store_user(self, user: SimUser) -> bool:
        """Insert or replace by uid, as CMD_USER_WRQ does; False when the device refuses."""
        with self.lock:
            user = replace(user, name=user.name[: self.max_name_length])
            holder = self._uid_by_pin.get(user.user_id)
            if holder is not None and holder != user.uid:
                return False  # a PIN is unique on the device
            previous = self.users.get(user.uid)
            if previous is None and len(self.users) >= self.users_capacity:
                return False
            if previous is not None:
                del self._uid_by_pin[previous.user_id]
            self.users[user.uid] = user
            self._uid_by_pin[user.user_id] = user.uid
            return True

    def delete_user(self, uid: int) -> bool:
        """Remove the user and their templates; False when the slot was empty."""
        with self.lock:
            for fid in p.FINGERS:
                self.templates.pop((uid, fid), None)
            user = self.users.pop(uid, None)
            if user is None:
                return False
            del self._uid_by_pin[user.user_id]
            return True

    def store_upload(self, users: list[SimUser], templates: list[SimTemplate]) -> bool:
        """Apply a CMD_SAVE_USERTEMPS upload: all of it, or (False) none of it. A
        template replaces the one of the same user and finger; other fingers stay."""
        with self.lock:
            before = (dict(self.users), dict(self._uid_by_pin), dict(self.templates))
            if all(self.store_user(user) for user in users):
                known = all(t.uid in self.users for t in templates)
                new = {(t.uid, t.fid) for t in templates} - set(self.templates)
                if known and len(self.templates) + len(new) <= self.fingers_capacity:
                    self.templates.update(((t.uid, t.fid), t) for t in templates)
                    return True
            self.users, self._uid_by_pin, self.templates = before
            return False

    def delete_template(self, uid: int, fid: int) -> bool:
        with self.lock:
            return self.templates.pop((uid, fid), None) is not None

    def clear_attendance(self) -> None:
        with self.lock:
            self.records.clear()

    def clear_all(self) -> None:
        with self.lock:
            self.records.clear()
            self.users.clear()
            self._uid_by_pin.clear()
            self.templates.clear()

    def set_time(self, value: datetime) -> None:
        with self.lock:
            self.clock_offset = value - datetime.now().replace(microsecond=0)

    def set_disabled(self, disabled: bool) -> None:
        with self.lock:
            self.disabled = disabled
            if disabled:
                self.disable_count += 1
            else:
                self.enable_count += 1

    def punch(
        self, user_id: str, *, timestamp: datetime | None = None, status: int = 1, punch: int = 0
    ) -> SimRecord:
        """Someone verifies at the keypad: log it and push it to listening sessions."""
        with self.lock:
            holder = self._uid_by_pin.get(user_id)
            record = SimRecord(
                user_id=user_id,
                timestamp=(timestamp or self.now()).replace(microsecond=0),
                status=status,
                punch=punch,
                uid=holder or 0,
            )
            self.records.append(record)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(record)
        return record

    def add_listener(self, listener: EventListener) -> None:
        with self.lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # Encoding for the wire ------------------------------------------------------
    def free_sizes(self) -> bytes:
        with self.lock:
            users, records = len(self.users), len(self.records)
            fingers = len(self.templates)
        fields = [0] * 20
        fields[4] = users
        fields[6] = fingers
        fields[8] = records
        fields[14] = self.fingers_capacity
        fields[15] = self.users_capacity
        fields[16] = self.records_capacity
        fields[17] = self.fingers_capacity - fingers
        fields[18] = self.users_capacity - users
        fields[19] = self.records_capacity - records
        faces = [0, 0, 0]
        return b"".join(v.to_bytes(4, "little", signed=True) for v in fields + faces)

    def user_table(self) -> bytes:
        """The user data set as CMD_USERTEMP_RRQ/FCT_USER returns it: size, then records."""
        body = b"".join(self._pack_user(u) for u in self.user_list())
        return len(body).to_bytes(4, "little") + body

    def template_table(self) -> bytes:
        """The template data set as CMD_DB_RRQ/FCT_FINGERTMP returns it."""
        body = b"".join(
            p.TEMPLATE_HEAD.pack(len(t.template) + p.TEMPLATE_HEAD.size, t.uid, t.fid, t.valid)
            + t.template
            for t in self.template_list()
        )
        return len(body).to_bytes(4, "little") + body

    def attendance_table(self) -> bytes:
        body = b"".join(self._pack_record(r) for r in self.record_list())
        return len(body).to_bytes(4, "little") + body

    def parse_user(self, data: bytes) -> SimUser | None:
        """Decode a CMD_USER_WRQ payload; None when its size is not this firmware's."""
        if len(data) != self.user_format:
            return None
        if self.user_format == 72:
            uid, privilege, password, name, card, group_id, user_id = p.USER72.unpack(data)
            return SimUser(
                uid=uid,
                user_id=_cstr(user_id).decode("utf-8", "replace"),
                name=_cstr(name),
                privilege=privilege,
                password=_cstr(password),
                group_id=_cstr(group_id).decode("utf-8", "replace"),
                card=card,
            )
        uid, privilege, password, name, card, group, _tz, pin = p.USER28.unpack(data)
        return SimUser(
            uid=uid,
            user_id=str(pin),
            name=_cstr(name),
            privilege=privilege,
            password=_cstr(password),
            group_id=str(group),
            card=card,
        )

    def event_payload(self, record: SimRecord) -> bytes:
        when = p.encode_timehex(record.timestamp)
        if self.user_format == 72:
            pin = record.user_id.encode()[:24]
            return p.EVENT36.pack(pin, record.status, record.punch, when, b"\x00" * 4)
        return p.EVENT12.pack(_int_pin(record.user_id), record.status, record.punch, when)

    def _pack_user(self, u: SimUser) -> bytes:
        if self.user_format == 72:
            return p.USER72.pack(
                u.uid, u.privilege, u.password, u.name, u.card,
                u.group_id.encode(), u.user_id.encode(),
            )  # fmt: skip
        group = int(u.group_id) if u.group_id.isdigit() else 0
        return p.USER28.pack(
            u.uid, u.privilege, u.password, u.name, u.card, group, 0, _int_pin(u.user_id)
        )

    def _pack_record(self, r: SimRecord) -> bytes:
        when = p.encode_time(r.timestamp).to_bytes(4, "little")
        if self.attendance_format == 40:
            return p.ATT40.pack(r.uid, r.user_id.encode(), r.status, when, r.punch, b"\x00" * 8)
        if self.attendance_format == 16:
            return p.ATT16.pack(_int_pin(r.user_id), when, r.status, r.punch, b"\x00\x00", 0)
        return p.ATT8.pack(r.uid, r.status, when, r.punch)


def _cstr(raw: bytes) -> bytes:
    return raw.split(b"\x00", 1)[0]


def _int_pin(user_id: str) -> int:
    return int(user_id) if user_id.isdigit() else 0


def load_users(device: SimulatedDevice, users: Iterable[SimUser]) -> None:
    for user in users:
        if not device.store_user(user):
            raise ValueError(f"device refused user {user!r}")
