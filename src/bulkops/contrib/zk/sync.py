"""The work of the three zk.* operations, one device at a time.

Kept apart from the operation classes so the rules (who gets which uid, when the
log may be cleared, what counts as new) are testable without a task runner; the
operations only feed a :class:`Reporter` from the run context.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from django.apps import apps
from django.db import IntegrityError, models, router, transaction
from django.utils import timezone

from .client import ZKClient
from .conf import zk_setting
from .exceptions import DeviceProtocolError, InvalidUserData
from .locking import DeviceLease, device_session
from .mapping import EmployeeMapping
from .models import Device
from .records import DeviceInfo, DeviceUser
from .storage import insert_ignoring_conflicts

logger = logging.getLogger("bulkops.contrib.zk")

T = TypeVar("T")


class Reporter(Protocol):
    """What the sync needs from a run context: numbers, row errors, cancel."""

    def add_total(self, count: int) -> None: ...
    def advance(self, *, succeeded: int = 0, failed: int = 0, skipped: int = 0) -> None: ...
    def row_error(self, key: str, message: str, *, field: str = "") -> None: ...
    def stage(self, text: str) -> None: ...
    def check_cancelled(self) -> None: ...


@dataclass
class PushResult:
    written: int = 0
    unchanged: int = 0
    invalid: int = 0
    removed: int = 0


@dataclass
class PullResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


@dataclass
class DownloadResult:
    new: int = 0
    known: int = 0
    unreadable: int = 0
    cleared: bool = False
    note: str = ""


def contact(device: Device, client: ZKClient) -> DeviceInfo:
    """Read identity and sizes, and remember them (and the time) on the device row."""
    info = client.info()
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
    return info


def record_failure(device: Device, error: BaseException) -> None:
    device.last_error = str(error)[:2000]
    Device.objects.filter(pk=device.pk).update(last_error=device.last_error)


# zk.push_users -----------------------------------------------------------------------
def push_users(
    device: Device,
    users: Sequence[tuple[str, DeviceUser]],
    reporter: Reporter,
    *,
    remove_missing: bool = False,
    client: ZKClient | None = None,
) -> PushResult:
    """Make the device's users match ``users`` (row key, user), keyed by user id."""
    result = PushResult()
    with device_session(device) as lease, client or device.client() as zk:
        contact(device, zk)
        reporter.stage(f"{device.name}: reading users")
        on_device = {u.user_id: u for u in zk.get_users()}
        fmt = zk.user_format()
        slots = _FreeSlots(u.uid or 0 for u in on_device.values())
        seen: set[str] = set()
        reporter.stage(f"{device.name}: writing users")
        with zk.locked():
            for key, user in users:
                reporter.check_cancelled()
                lease.renew()
                if user.user_id in seen:
                    _invalid(reporter, result, key, f"user id {user.user_id!r} appears twice")
                    continue
                seen.add(user.user_id)
                current = on_device.get(user.user_id)
                uid = current.uid if current else slots.take()
                if uid is None:
                    _invalid(reporter, result, key, "the device has no free user slot left")
                    continue
                try:
                    wanted = fmt.prepare(
                        replace(user, uid=uid), zk.label, zk.encoding, zk.name_max_bytes
                    )
                except InvalidUserData as exc:
                    slots.give_back(uid, taken=current is None)
                    _invalid(reporter, result, key, exc.detail, field=exc.field)
                    continue
                if current == wanted:
                    result.unchanged += 1
                    reporter.advance(skipped=1)
                    continue
                zk.set_user(wanted)
                result.written += 1
                reporter.advance(succeeded=1)
            if remove_missing:
                reporter.stage(f"{device.name}: removing users not in the list")
                for user_id, user in on_device.items():
                    if user_id not in seen and user.uid:
                        reporter.check_cancelled()
                        zk.delete_user(user.uid)
                        result.removed += 1
    return result


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

    def give_back(self, uid: int, *, taken: bool) -> None:
        if taken:
            self.used.discard(uid)
            self.next = min(self.next, uid)


def _invalid(
    reporter: Reporter, result: PushResult, key: str, message: str, *, field: str = "user_id"
) -> None:
    result.invalid += 1
    reporter.row_error(key, message, field=field)
    reporter.advance(failed=1)


def employee_users(
    mapping: EmployeeMapping, employees: Iterable[models.Model], reporter: Reporter
) -> list[tuple[str, DeviceUser]]:
    """Employees as device users; one that cannot be converted becomes a row error."""
    users = []
    for employee in employees:
        key = str(employee.pk)
        try:
            user = mapping.to_device_user(employee)
        except (TypeError, ValueError) as exc:
            reporter.row_error(key, f"cannot be converted to a device user: {exc}")
            reporter.advance(failed=1)
            continue
        if not user.user_id:
            field = mapping.user_id_field
            reporter.row_error(key, f"'{field}' is empty: no device user id", field=field)
            reporter.advance(failed=1)
            continue
        users.append((key, user))
    return users


# zk.pull_users -----------------------------------------------------------------------
def read_users(device: Device, client: ZKClient | None = None) -> list[DeviceUser]:
    with device_session(device), client or device.client() as zk:
        contact(device, zk)
        return zk.get_users()


def store_employees(
    mapping: EmployeeMapping,
    users: Sequence[DeviceUser],
    reporter: Reporter,
    *,
    create: bool | None = None,
    chunk_size: int | None = None,
) -> PullResult:
    """Upsert ``users`` into the employee model by user id, one transaction per chunk."""
    create = zk_setting("CREATE_EMPLOYEES") if create is None else create
    result = PullResult()
    field = mapping.user_id_field
    for chunk in _chunks(users, chunk_size or zk_setting("CHUNK_SIZE")):
        reporter.check_cancelled()
        ids = [u.user_id for u in chunk]
        existing = {
            str(getattr(e, field)): e
            for e in mapping.get_queryset().filter(**{f"{field}__in": ids})
        }
        try:
            with transaction.atomic():
                counts = _upsert(mapping, chunk, existing, create, bulk=True)
        except (IntegrityError, ValueError, TypeError):
            # Some row does not fit the model: redo the chunk row by row to name it.
            counts = _upsert_rows(mapping, chunk, existing, create, reporter)
        result.created += counts[0]
        result.updated += counts[1]
        result.unchanged += counts[2]
        result.failed += counts[3]
        reporter.advance(succeeded=counts[0] + counts[1], skipped=counts[2], failed=counts[3])
    return result


def _upsert(
    mapping: EmployeeMapping,
    chunk: Sequence[DeviceUser],
    existing: dict[str, models.Model],
    create: bool,
    *,
    bulk: bool,
) -> tuple[int, int, int, int]:
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    changed_fields: set[str] = set()
    skipped = 0
    for user in chunk:
        values = mapping.employee_values(user)
        employee = existing.get(user.user_id)
        if employee is None:
            if create:
                to_create.append(mapping.model(**values))
            else:
                skipped += 1
            continue
        changed = {k for k, v in values.items() if getattr(employee, k) != v}
        if not changed:
            skipped += 1
            continue
        for name in changed:
            setattr(employee, name, values[name])
        changed_fields |= changed
        to_update.append(employee)
    if bulk:
        mapping.model._default_manager.bulk_create(to_create)
        if to_update:
            mapping.model._default_manager.bulk_update(to_update, sorted(changed_fields))
    else:
        for obj in to_create + to_update:
            obj.save()
    return len(to_create), len(to_update), skipped, 0


def _upsert_rows(
    mapping: EmployeeMapping,
    chunk: Sequence[DeviceUser],
    existing: dict[str, models.Model],
    create: bool,
    reporter: Reporter,
) -> tuple[int, int, int, int]:
    totals = [0, 0, 0, 0]
    for user in chunk:
        # Reload: the failed bulk attempt may have changed these objects in memory.
        fresh = {}
        if user.user_id in existing:
            fresh = {user.user_id: type(existing[user.user_id])._default_manager.get(
                pk=existing[user.user_id].pk
            )}  # fmt: skip
        try:
            with transaction.atomic():
                counts = _upsert(mapping, [user], fresh, create, bulk=False)
        except (IntegrityError, ValueError, TypeError) as exc:
            reporter.row_error(user.user_id, f"cannot be saved: {exc}", field=mapping.user_id_field)
            totals[3] += 1
            continue
        for i in range(3):
            totals[i] += counts[i]
    return totals[0], totals[1], totals[2], totals[3]


# zk.download_attendance --------------------------------------------------------------
def download_attendance(
    device: Device,
    reporter: Reporter,
    *,
    clear: bool = False,
    chunk_size: int | None = None,
    client: ZKClient | None = None,
) -> DownloadResult:
    """Store the device's punches not stored yet; with ``clear``, then empty the log,
    but only if everything it held is committed and nothing arrived meanwhile (the
    keypad is locked for the whole of it)."""
    result = DownloadResult()
    with device_session(device) as lease, client or device.client() as zk:
        info = contact(device, zk)
        if not info.serial_number:
            raise DeviceProtocolError(zk.label, "the device reports no serial number")
        with zk.locked() if clear else nullcontext():
            before = zk.record_count()
            reporter.stage(f"{device.name}: downloading {before} records")
            punches = zk.get_attendance()
            result.unreadable = zk.skipped_records
            reporter.add_total(len(punches))
            reporter.stage(f"{device.name}: storing records")
            _store_punches(device, info.serial_number, punches, reporter, result, lease,
                           chunk_size or zk_setting("CHUNK_SIZE"))  # fmt: skip
            if clear:
                after = zk.record_count()
                if result.unreadable:
                    result.note = f"log not cleared: {result.unreadable} records could not be read"
                elif after != before or before != len(punches):
                    result.note = (
                        f"log not cleared: it changed during the download "
                        f"({before} -> {after} records); run again"
                    )
                else:
                    zk.clear_attendance()
                    result.cleared = True
    return result


def _store_punches(
    device: Device,
    serial: str,
    punches: Sequence[Any],
    reporter: Reporter,
    result: DownloadResult,
    lease: DeviceLease,
    chunk_size: int,
) -> None:
    model = apps.get_model(zk_setting("ATTENDANCE_MODEL"))
    manager = model._default_manager
    for chunk in _chunks(punches, chunk_size):
        reporter.check_cancelled()
        lease.renew()
        rows: dict[tuple[str, datetime, int], Any] = {}
        for punch in chunk:
            rows.setdefault((punch.user_id, device.to_aware(punch.timestamp), punch.punch), punch)
        stamps = [key[1] for key in rows]
        known = set(
            manager.filter(
                device_serial=serial, timestamp__gte=min(stamps), timestamp__lte=max(stamps)
            ).values_list("user_id", "timestamp", "punch")
        )
        fresh = [(*key, punch.status) for key, punch in rows.items() if key not in known]
        with transaction.atomic(using=router.db_for_write(model)):
            # Conflicts are ignored: a row stored meanwhile by someone else is not an error.
            insert_ignoring_conflicts(
                model,
                ("user_id", "timestamp", "punch", "status"),
                fresh,
                {"device": device.pk, "device_serial": serial, "downloaded_at": timezone.now()},
            )
        result.new += len(fresh)
        result.known += len(chunk) - len(fresh)
        reporter.advance(succeeded=len(fresh), skipped=len(chunk) - len(fresh))


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), max(int(size), 1)):
        yield items[start : start + size]
