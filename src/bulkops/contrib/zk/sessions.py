"""One device conversation per job step: lease, connection, keypad lock, in that order.

A session is a context manager that takes the device's lease (one session per
device across all workers), connects, records the contact on the device row, and
on exit undoes all of it in reverse, whatever happened: unlock the keypad,
disconnect, release the lease.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from django.apps import apps
from django.utils import timezone

from bulkops import texts
from bulkops.texts import Text

from .client import ZKClient
from .conf import zk_setting
from .exceptions import DeviceProtocolError, InvalidUserData
from .locking import DeviceLease, device_session
from .models import Device
from .records import DeviceInfo, DeviceTemplate, DeviceUser, Punch, UserFormat
from .storage import insert_ignoring_conflicts

S = TypeVar("S", bound="DeviceSession")


def contact(device: Device, client: ZKClient) -> DeviceInfo:
    """Read identity and sizes, and remember them (and the time) on the device row."""
    info = client.info()
    remember_contact(device, info)
    return info


def remember_contact(device: Device, info: DeviceInfo) -> None:
    device.serial_number = info.serial_number
    device.firmware_version = info.firmware_version
    device.platform = info.platform
    device.last_contact_at = timezone.now()
    device.last_error = ""
    Device.objects.filter(pk=device.pk).update(
        serial_number=device.serial_number,
        firmware_version=device.firmware_version,
        platform=device.platform,
        last_contact_at=device.last_contact_at,
        last_error="",
    )


def record_failure(device: Device, error: BaseException) -> None:
    device.last_error = str(error)[:2000]
    Device.objects.filter(pk=device.pk).update(last_error=device.last_error)


class DeviceSession:
    """Lease + connection (+ keypad lock when ``lock``) for the ``with`` block."""

    def __init__(self, device: Device, *, lock: bool = False, client: ZKClient | None = None):
        self.device = device
        self.lock = lock
        self._client = client
        self._stack = ExitStack()
        self._lease_stack = ExitStack()
        self.lease: DeviceLease
        self.client: ZKClient
        self.info: DeviceInfo

    def __enter__(self: S) -> S:
        self.take_lease()
        try:
            self.open_device()
        except BaseException:
            self.close()
            raise
        remember_contact(self.device, self.info)
        return self

    # The three steps of __enter__, for callers that open many devices at once: the
    # lease and the device row are database work; open_device() is only network work,
    # so it may run on another thread (the database connection is per thread).
    def take_lease(self) -> None:
        self.lease = self._lease_stack.enter_context(device_session(self.device))

    def open_device(self) -> None:
        self.client = self._stack.enter_context(self._client or self.device.client())
        self.info = self.client.info()
        if self.lock:
            self._stack.enter_context(self.client.locked())
        self.opened()

    def close_device(self) -> None:
        """Unlock and disconnect (no database work: safe on any thread)."""
        self._stack.close()

    def close(self) -> None:
        """Unlock, disconnect, release the lease (whatever of it was done)."""
        try:
            self._stack.close()
        finally:
            self._lease_stack.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._stack.__exit__(exc_type, exc, tb)
        finally:
            self._lease_stack.close()

    def opened(self) -> None:
        """Hook: read what the session needs once connected (and locked)."""

    def keep_alive(self) -> None:
        self.lease.renew()


@dataclass(frozen=True)
class PushOutcome:
    status: str  # "written", "unchanged" or "invalid"
    message: Text | str = ""
    field: str = ""


class PushSession(DeviceSession):
    """Writes users to one device, matched by user id; the keypad stays locked. The
    device's fingerprints are read before the first user with fingers is written
    (only then: a push without any leaves a device without the command alone), so a
    user's fingers are written only when the device lacks them or holds other bytes."""

    def __init__(self, device: Device, *, client: ZKClient | None = None) -> None:
        super().__init__(device, lock=True, client=client)
        self._fingers: dict[int, dict[int, bytes]] | None = None
        self.on_device: dict[str, DeviceUser] = {}
        self.seen: set[str] = set()
        self.format: UserFormat

    def opened(self) -> None:
        self.on_device = {u.user_id: u for u in self.client.get_users()}
        self.format = self.client.user_format()
        self._slots = _FreeSlots(u.uid or 0 for u in self.on_device.values())

    @property
    def fingers(self) -> dict[int, dict[int, bytes]]:
        """The device's fingers by uid and finger, read on first use."""
        if self._fingers is None:
            self._fingers = {}
            for t in self.client.get_templates():
                self._fingers.setdefault(t.uid, {})[t.finger] = t.template
        return self._fingers

    def push(
        self, user: DeviceUser, fingers: Sequence[DeviceTemplate] | None = None
    ) -> PushOutcome:
        """Write ``user`` (and ``fingers``, merged with those the device holds)."""
        self.keep_alive()
        return self.write(user, fingers)

    def write(
        self, user: DeviceUser, fingers: Sequence[DeviceTemplate] | None = None
    ) -> PushOutcome:
        """``push`` without renewing the lease: device calls only, no database, so a
        fleet may run it on a worker thread (renewing the leases itself)."""
        user_id = self.format.normalize_user_id(user.user_id)
        if user_id in self.seen:
            return PushOutcome("invalid", f"user id {user_id!r} appears twice", "user_id")
        self.seen.add(user_id)
        current = self.on_device.get(user_id)
        uid = current.uid if current else self._slots.take()
        if uid is None:
            return PushOutcome(
                "invalid", texts.gettext("the device has no free user slot left"), "user_id"
            )
        zk = self.client
        try:
            wanted = self.format.prepare(
                replace(user, uid=uid), zk.label, zk.encoding, zk.name_max_bytes
            )
        except InvalidUserData as exc:
            if current is None:
                self._slots.give_back(uid)
            return PushOutcome("invalid", exc.detail, exc.field)
        have = self.fingers.get(uid, {}) if fingers else {}
        missing = [t for t in fingers or () if have.get(t.finger) != t.template]
        if current == wanted and not missing:
            return PushOutcome("unchanged")
        if missing:
            zk.set_users_with_templates([(wanted, missing)])
            self.fingers.setdefault(uid, {}).update((t.finger, t.template) for t in missing)
        else:
            zk.set_user(wanted)
        self.on_device[wanted.user_id] = wanted
        return PushOutcome("written")

    def remove_missing(self, wanted_ids: Iterable[str]) -> int:
        """Delete device users whose user id is not in ``wanted_ids``."""
        keep = {self.format.normalize_user_id(user_id) for user_id in wanted_ids}
        removed = 0
        for user_id, user in list(self.on_device.items()):
            if user_id not in keep and user.uid:
                self.keep_alive()
                self.client.delete_user(user.uid)
                del self.on_device[user_id]
                if self._fingers is not None:
                    self._fingers.pop(user.uid, None)  # the device drops them with the user
                removed += 1
        return removed


class _FreeSlots:
    """Hands out the lowest unused device uids."""

    def __init__(self, used: Iterable[int]) -> None:
        self.used = set(used)
        self.next = 1

    def take(self) -> int | None:
        while self.next in self.used:
            self.next += 1
        if self.next > 65535:
            return None
        self.used.add(self.next)
        return self.next

    def give_back(self, uid: int) -> None:
        self.used.discard(uid)
        self.next = min(self.next, uid)


class DownloadSession(DeviceSession):
    """Reads the attendance log of one device and stores the records not stored yet.

    With ``clear`` the keypad is locked for the whole session, so nobody can punch
    between the download and the clearing of the log.
    """

    def __init__(
        self, device: Device, *, clear: bool = False, client: ZKClient | None = None
    ) -> None:
        super().__init__(device, lock=clear, client=client)
        self.clear = clear
        self.count_before = 0
        self.fetched = 0
        self.unreadable = 0
        self.model = apps.get_model(zk_setting("ATTENDANCE_MODEL"))

    @property
    def serial(self) -> str:
        if not self.info.serial_number:
            raise DeviceProtocolError(self.client.label, "the device reports no serial number")
        return self.info.serial_number

    def fetch(self) -> list[Punch]:
        self.serial  # noqa: B018  (fail before a long download, not after)
        self.count_before = self.client.record_count()
        punches = self.client.get_attendance()
        self.unreadable = self.client.skipped_records
        self.fetched = len(punches)
        return punches

    def store(self, punches: Sequence[Punch]) -> tuple[int, int]:
        """Insert the punches not stored yet: (new, already stored). Run it in a
        transaction; a row stored meanwhile by someone else is silently skipped."""
        self.keep_alive()
        if not punches:
            return 0, 0
        rows: dict[tuple[str, datetime, int], int] = {}
        for punch in punches:
            key = (punch.user_id, self.device.to_aware(punch.timestamp), punch.punch)
            rows.setdefault(key, punch.status)
        stamps = [key[1] for key in rows]
        known = set(
            self.model._default_manager.filter(
                device_serial=self.serial, timestamp__gte=min(stamps), timestamp__lte=max(stamps)
            ).values_list("user_id", "timestamp", "punch")
        )
        fresh = [(*key, status) for key, status in rows.items() if key not in known]
        constants: dict[str, Any] = {
            "device": self.device.pk,
            "device_serial": self.serial,
            "downloaded_at": timezone.now(),
        }
        insert_ignoring_conflicts(
            self.model, ("user_id", "timestamp", "punch", "status"), fresh, constants
        )
        return len(fresh), len(punches) - len(fresh)

    def clear_if_unchanged(self) -> tuple[bool, str]:
        """Clear the device log if it still holds exactly what was downloaded. Call it
        only once every ``store`` has been committed."""
        if self.unreadable:
            return False, f"log not cleared: {self.unreadable} records could not be read"
        after = self.client.record_count()
        if after != self.count_before or self.count_before != self.fetched:
            return False, (
                f"log not cleared: it changed during the download "
                f"({self.count_before} -> {after} records); run again"
            )
        self.client.clear_attendance()
        return True, ""
