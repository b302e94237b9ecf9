"""The three zk jobs as plain functions over one device, reporting to a ``Reporter``.

The operations in ``operations.py`` do the same work through the task's run
context (batches, checkpoints, row errors); these functions serve scripts, the
benchmark and tests that need no task.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from django.db import router, transaction

from .client import ZKClient
from .conf import zk_setting
from .employees import employee_users, store_employees
from .mapping import EmployeeMapping
from .models import Device
from .records import DeviceUser
from .sessions import DeviceSession, DownloadSession, PushSession

T = TypeVar("T")


class Reporter(Protocol):
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


def push_employees(
    device: Device,
    reporter: Reporter,
    *,
    mapping: EmployeeMapping | None = None,
    remove_missing: bool = False,
    client: ZKClient | None = None,
) -> PushResult:
    mapping = mapping or EmployeeMapping.from_settings()
    converted = employee_users(mapping, mapping.get_queryset().order_by("pk"))
    reporter.add_total(len(converted.users) + len(converted.problems))
    for problem in converted.problems:
        reporter.row_error(problem.ref, problem.message, field=problem.field)
        reporter.advance(failed=1)
    return push_users(
        device, converted.users, reporter, remove_missing=remove_missing, client=client
    )


def push_users(
    device: Device,
    users: Sequence[tuple[str, DeviceUser]],
    reporter: Reporter,
    *,
    remove_missing: bool = False,
    client: ZKClient | None = None,
) -> PushResult:
    """Make the device's users match ``users`` ((row ref, user) pairs) by user id."""
    result = PushResult()
    with PushSession(device, client=client) as session:
        reporter.stage(f"{device.name}: writing users")
        for ref, user in users:
            reporter.check_cancelled()
            outcome = session.push(user)
            if outcome.status == "invalid":
                result.invalid += 1
                reporter.row_error(ref, outcome.message, field=outcome.field)
                reporter.advance(failed=1)
            elif outcome.status == "unchanged":
                result.unchanged += 1
                reporter.advance(skipped=1)
            else:
                result.written += 1
                reporter.advance(succeeded=1)
        if remove_missing:
            reporter.stage(f"{device.name}: removing users not in the list")
            result.removed = session.remove_missing(user.user_id for _ref, user in users)
    return result


def read_users(device: Device, client: ZKClient | None = None) -> list[DeviceUser]:
    with DeviceSession(device, client=client) as session:
        return session.client.get_users()


def pull_users(
    device: Device,
    reporter: Reporter,
    *,
    mapping: EmployeeMapping | None = None,
    create: bool | None = None,
    client: ZKClient | None = None,
) -> PullResult:
    mapping = mapping or EmployeeMapping.from_settings()
    create = zk_setting("CREATE_EMPLOYEES") if create is None else create
    users = read_users(device, client)
    reporter.add_total(len(users))
    result = PullResult()
    for chunk in chunks(users, zk_setting("CHUNK_SIZE")):
        reporter.check_cancelled()
        with transaction.atomic(using=router.db_for_write(mapping.model)):
            counts = store_employees(mapping, chunk, create=create)
        for problem in counts.problems:
            reporter.row_error(problem.ref, problem.message, field=problem.field)
        result.created += counts.created
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        result.failed += len(counts.problems)
        reporter.advance(
            succeeded=counts.created + counts.updated,
            skipped=counts.unchanged,
            failed=len(counts.problems),
        )
    return result


def download_attendance(
    device: Device,
    reporter: Reporter,
    *,
    clear: bool = False,
    chunk_size: int | None = None,
    client: ZKClient | None = None,
) -> DownloadResult:
    """Store the device's punches not stored yet; with ``clear``, then empty its log,
    but only once everything is committed and if nothing changed meanwhile."""
    result = DownloadResult()
    with DownloadSession(device, clear=clear, client=client) as session:
        reporter.stage(f"{device.name}: downloading")
        punches = session.fetch()
        result.unreadable = session.unreadable
        reporter.add_total(len(punches))
        reporter.stage(f"{device.name}: storing records")
        for chunk in chunks(punches, chunk_size or zk_setting("CHUNK_SIZE")):
            reporter.check_cancelled()
            with transaction.atomic(using=router.db_for_write(session.model)):
                new, known = session.store(chunk)
            result.new += new
            result.known += known
            reporter.advance(succeeded=new, skipped=known)
        if clear:
            result.cleared, result.note = session.clear_if_unchanged()
    return result


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    size = max(int(size), 1)
    for start in range(0, len(items), size):
        yield items[start : start + size]
