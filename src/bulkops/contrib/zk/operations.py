"""The zk.* operations: push users, pull users, download attendance, over many devices.

Each device gets its own session (lease, connection, keypad lock for writes), so
one unreachable device never stops the others; its failure is recorded as a row
error and, at the end, fails the task with a message naming every such device.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models

from bulkops.operations.base import Operation
from bulkops.registry import register

from .conf import zk_setting
from .employees import employee_users, store_employees
from .exceptions import DeviceError, SyncFailed
from .mapping import EmployeeMapping
from .models import Device
from .records import DeviceUser
from .sessions import DownloadSession, PushSession, record_failure
from .sync import read_users

if TYPE_CHECKING:
    from bulkops.context import RunContext
    from bulkops.models import BulkTask
    from bulkops.types import UserLike

logger = logging.getLogger("bulkops.contrib.zk")

PUSH_BATCH = 50


class DeviceOperation(Operation):
    """Shared parameters: ``devices`` (primary keys; default: every active device)."""

    device_permission = "bulkops_zk.change_device"

    def has_permission(self, user: UserLike, model: type[models.Model] | None) -> bool:
        return bool(user.is_authenticated and user.has_perm(self.device_permission))

    def clean_params(
        self,
        params: dict[str, Any],
        *,
        model: type[models.Model] | None,
        queryset: models.QuerySet[Any] | None,
        user: UserLike | None,
    ) -> dict[str, Any]:
        raw = params.get("devices")
        devices = Device.objects.filter(is_active=True)
        if raw:
            try:
                wanted = [int(getattr(d, "pk", d)) for d in raw]
            except (TypeError, ValueError):
                raise ValidationError({"devices": "Give devices as a list of ids."}) from None
            devices = Device.objects.filter(pk__in=wanted)
            missing = set(wanted) - set(devices.values_list("pk", flat=True))
            if missing:
                raise ValidationError({"devices": f"No time clock with id {sorted(missing)}."})
        pks = list(devices.order_by("name").values_list("pk", flat=True))
        if not pks:
            raise ValidationError({"devices": "There is no active time clock to talk to."})
        return {**params, "devices": pks}

    def get_label(self, task: BulkTask) -> str:
        count = len(task.params.get("devices") or [])
        return f"{self.label} ({count} time clock{'s' if count != 1 else ''})"

    def devices(self, ctx: RunContext) -> list[Device]:
        by_pk = Device.objects.using(ctx.db).in_bulk(ctx.params["devices"])
        return [by_pk[pk] for pk in ctx.params["devices"] if pk in by_pk]

    def device_failed(
        self, ctx: RunContext, device: Device, exc: DeviceError, failures: list[str]
    ) -> None:
        logger.warning("bulkops zk: %s", exc)
        record_failure(device, exc)
        ctx.error(exc.detail, ref=device.name, field="device")
        failures.append(f"{device.name}: {exc.detail}")

    def finish(self, ctx: RunContext, devices: list[Device], failures: list[str]) -> None:
        if failures:
            ok = len(devices) - len(failures)
            raise SyncFailed(
                f"{ok} of {len(devices)} time clocks done; failed: " + "; ".join(failures)
            )


@register
class PushUsersOperation(DeviceOperation):
    """Write the selected employees (default: all) to the devices, matched by user id.

    Params: ``devices``, ``remove_missing`` (delete device users that are not among
    the employees).
    """

    name = "zk.push_users"
    label = "Push users to time clocks"

    def get_total(self, task: BulkTask) -> int | None:
        return self._employees(task).count()

    def _employees(self, task: BulkTask) -> models.QuerySet[Any]:
        queryset = task.get_queryset()
        return queryset if queryset is not None else EmployeeMapping.from_settings().get_queryset()

    def run(self, ctx: RunContext) -> dict[str, Any]:
        mapping = EmployeeMapping.from_settings()
        employees = self._employees(ctx.task)
        devices, failures = self.devices(ctx), list[str]()
        sessions: dict[int, tuple[Device, PushSession, ExitStack]] = {}
        written = removed = 0
        try:
            for device in devices:
                ctx.progress(stage=f"Connecting to {device.name}", force=True)
                stack = ExitStack()
                try:
                    session = stack.enter_context(PushSession(device))
                except DeviceError as exc:
                    self.device_failed(ctx, device, exc, failures)
                    continue
                sessions[device.pk] = (device, session, stack)
            ctx.progress(stage="Writing users", force=True)
            # Small batches: each user costs device round trips, and progress moves
            # (and the task's heartbeat is written) once per committed batch.
            size = int(ctx.params.get("chunk_size") or PUSH_BATCH)
            for batch in ctx.batches(employees, size=size):
                # The device round trips happen outside the batch's transaction, which
                # only records the outcome: no database lock is held while devices talk.
                converted = employee_users(mapping, employees.filter(pk__in=batch.items))
                verdicts = [
                    (ref, self._push_everywhere(ctx, user, sessions, failures))
                    for ref, user in converted.users
                ]
                with batch:
                    for problem in converted.problems:
                        batch.error(problem.message, ref=problem.ref, field=problem.field)
                    for ref, (status, message, field) in verdicts:
                        if status == "invalid":
                            batch.error(message, ref=ref, field=field)
                        elif status == "written":
                            batch.succeeded()
                            written += 1
                        else:
                            batch.skipped()
            if ctx.params.get("remove_missing") and sessions:
                ctx.progress(stage="Removing users that are not employees", force=True)
                wanted = {mapping.user_id_of(e) for e in employees.iterator()}
                for pk, (device, session, stack) in list(sessions.items()):
                    try:
                        removed += session.remove_missing(wanted)
                    except DeviceError as exc:
                        self.device_failed(ctx, device, exc, failures)
                        del sessions[pk]
                        stack.close()
        finally:
            for _device, _session, stack in sessions.values():
                stack.close()  # unlock, disconnect, release: also on cancel or crash
        self.finish(ctx, devices, failures)
        return {"devices": len(devices), "written": written, "removed": removed}

    def _push_everywhere(
        self,
        ctx: RunContext,
        user: DeviceUser,
        sessions: dict[int, tuple[Device, PushSession, ExitStack]],
        failures: list[str],
    ) -> tuple[str, str, str]:
        """Write one user to every open device: ("written" | "unchanged" | "invalid",
        message, field). A device that fails is closed and left out from then on."""
        outcomes = []
        for pk, (device, session, stack) in list(sessions.items()):
            try:
                outcomes.append((device, session.push(user)))
            except DeviceError as exc:
                self.device_failed(ctx, device, exc, failures)
                del sessions[pk]
                stack.close()
        bad = [(d, o) for d, o in outcomes if o.status == "invalid"]
        if bad:
            return "invalid", "; ".join(f"{d.name}: {o.message}" for d, o in bad), bad[0][1].field
        if any(o.status == "written" for _d, o in outcomes):
            return "written", "", ""
        return "unchanged", "", ""


@register
class PullUsersOperation(DeviceOperation):
    """Read the devices' users into the employee model (update by user id, create
    the missing unless ``create`` is false)."""

    name = "zk.pull_users"
    label = "Pull users from time clocks"

    def has_permission(self, user: UserLike, model: type[models.Model] | None) -> bool:
        if not super().has_permission(user, model):
            return False
        opts = EmployeeMapping.from_settings().model._meta
        return user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def get_total(self, task: BulkTask) -> int | None:
        return None  # known once the devices have been read

    def run(self, ctx: RunContext) -> dict[str, Any]:
        mapping = EmployeeMapping.from_settings()
        create = bool(ctx.params.get("create", zk_setting("CREATE_EMPLOYEES")))
        devices, failures = self.devices(ctx), list[str]()
        done: list[int] = list(ctx.checkpoint.get("done_devices", []))
        for device in devices:
            if device.pk in done:
                continue
            ctx.progress(stage=f"Reading users from {device.name}", force=True)
            try:
                users = read_users(device)
            except DeviceError as exc:
                self.device_failed(ctx, device, exc, failures)
                continue
            if ctx.checkpoint.get("device") != device.pk:
                ctx.restart_batches(device=device.pk)
                ctx.set_total((ctx.task.total or 0) + len(users))
            ctx.progress(stage=f"Saving users of {device.name}", force=True)
            for batch in ctx.batches(users, size=zk_setting("CHUNK_SIZE")):
                with batch:
                    counts = store_employees(mapping, batch.items, create=create)
                    batch.succeeded(counts.created + counts.updated)
                    batch.skipped(counts.unchanged)
                    for problem in counts.problems:
                        batch.error(problem.message, ref=problem.ref, field=problem.field)
            done.append(device.pk)
            ctx.save_checkpoint(done_devices=done)
        self.finish(ctx, devices, failures)
        return {"devices": len(devices)}


@register
class DownloadAttendanceOperation(DeviceOperation):
    """Store the devices' attendance records that are not stored yet.

    With ``clear``, each device's log is then cleared, but only after its records
    are committed and only if it holds exactly what was downloaded (the keypad
    stays locked meanwhile).
    """

    name = "zk.download_attendance"
    label = "Download attendance"

    def get_total(self, task: BulkTask) -> int | None:
        return None  # known once the devices have been read

    def run(self, ctx: RunContext) -> dict[str, Any]:
        clear = bool(ctx.params.get("clear"))
        devices, failures = self.devices(ctx), list[str]()
        done: list[int] = list(ctx.checkpoint.get("done_devices", []))
        notes: list[str] = []
        cleared: list[str] = []
        for device in devices:
            if device.pk in done:
                continue
            # A resumed device is downloaded again from the start; what was stored
            # before the interruption is recognised and skipped.
            resumed = ctx.checkpoint.get("device") == device.pk
            ctx.restart_batches(device=device.pk)
            ctx.progress(stage=f"Downloading from {device.name}", force=True)
            try:
                with DownloadSession(device, clear=clear) as session:
                    punches = session.fetch()
                    if not resumed:
                        ctx.set_total((ctx.task.total or 0) + len(punches))
                    ctx.progress(stage=f"Storing records of {device.name}", force=True)
                    for batch in ctx.batches(punches, size=zk_setting("CHUNK_SIZE")):
                        with batch:
                            new, known = session.store(batch.items)
                            batch.succeeded(new)
                            batch.skipped(known)
                    if clear:
                        ok, note = session.clear_if_unchanged()
                        if ok:
                            cleared.append(device.name)
                        else:
                            notes.append(f"{device.name}: {note}")
            except DeviceError as exc:
                self.device_failed(ctx, device, exc, failures)
                continue
            done.append(device.pk)
            ctx.save_checkpoint(done_devices=done)
        if notes:
            ctx.progress(message="; ".join(notes), force=True)
        self.finish(ctx, devices, failures)
        return {
            "devices": len(devices),
            "new": ctx.task.succeeded_count,
            "cleared": cleared,
            "not_cleared": notes,
        }
