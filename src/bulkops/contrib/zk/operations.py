"""The zk.* operations over many devices in one task: the shared base, pulling users
(with their fingerprints) and downloading attendance; pushing and copying users are
in ``pushing.py``.

Each device gets its own session (lease, connection, keypad lock for writes), so
one unreachable device never stops the others; its failure is recorded as a row
error naming the device and, at the end, fails the task with a message naming
every such device. Downloads read the devices in parallel (see ``fleet.py``).
"""

from __future__ import annotations

import logging
from contextlib import closing
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy

from bulkops import texts
from bulkops.operations.base import Operation
from bulkops.permissions import has_model_permission
from bulkops.registry import register

from .conf import zk_setting
from .employees import store_employees
from .exceptions import DeviceError, SyncFailed
from .fleet import open_all
from .mapping import EmployeeMapping
from .models import Device
from .records import DeviceTemplate, Punch
from .sessions import DeviceSession, DownloadSession, record_failure
from .storage import store_templates

if TYPE_CHECKING:
    from bulkops.context import RunContext
    from bulkops.models import BulkTask
    from bulkops.types import UserLike

logger = logging.getLogger("bulkops.contrib.zk")


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

    def get_label(self, task: BulkTask) -> texts.Text:
        count = len(task.params.get("devices") or [])
        return texts.ngettext(
            "%(operation)s (%(count)s time clock)",
            "%(operation)s (%(count)s time clocks)",
            count,
            operation=texts.label(self.label),
        )

    def devices(self, ctx: RunContext) -> list[Device]:
        by_pk = Device.objects.using(ctx.db).in_bulk(ctx.params["devices"])
        return [by_pk[pk] for pk in ctx.params["devices"] if pk in by_pk]

    def device_failed(
        self,
        ctx: RunContext,
        device: Device,
        exc: DeviceError,
        failures: list[texts.Text | str],
    ) -> None:
        logger.warning("bulkops zk: %s", exc)
        record_failure(device, exc)
        ctx.error(exc.detail, ref=device.name, field="device")
        failures.append(texts.gettext("%(device)s: %(note)s", device=device.name, note=exc.detail))

    def start_device(self, ctx: RunContext, device: Device, count: int) -> None:
        """Count this device's ``count`` items into the total, once, also when a resumed
        task reads the device again; resume its batches where they stopped. Offsets
        of devices begun but not finished are parked, since a fleet stores devices in
        the order their downloads finish, which a resumed run need not repeat."""
        state, key = ctx.checkpoint, str(device.pk)
        counted = dict(state.get("counted", {}))
        parked = dict(state.get("parked", {}))
        current = state.get("device")
        if current not in (None, device.pk) and current not in state.get("done_devices", []):
            parked[str(current)] = int(state.get("offset", 0))
        offset = int(state.get("offset", 0)) if current == device.pk else parked.pop(key, 0)
        counted[key] = max(count, offset)
        ctx.save_checkpoint(device=device.pk, offset=offset, counted=counted, parked=parked)
        ctx.set_total(sum(counted.values()))

    def device_done(self, ctx: RunContext, device: Device) -> None:
        done = [*ctx.checkpoint.get("done_devices", []), device.pk]
        ctx.save_checkpoint(done_devices=done)

    def finish(
        self, ctx: RunContext, devices: list[Device], failures: list[texts.Text | str]
    ) -> None:
        if failures:
            ok = len(devices) - len(failures)
            raise SyncFailed(
                texts.gettext(
                    "%(done)s of %(count)s time clocks done; failed: %(failures)s",
                    done=ok,
                    count=len(devices),
                    failures=texts.join(failures),
                )
            )


@register
class PullUsersOperation(DeviceOperation):
    """Read the devices' users into the employee model (update by user id, create
    the missing unless ``create`` is false), and their fingerprints into
    FingerTemplate (unless ``templates`` is false)."""

    name = "zk.pull_users"
    label = gettext_lazy("Pull users from time clocks")

    def has_permission(self, user: UserLike, model: type[models.Model] | None) -> bool:
        if not super().has_permission(user, model):
            return False
        return has_model_permission(user, EmployeeMapping.from_settings().model, "change")

    def get_total(self, task: BulkTask) -> int | None:
        return None  # known once the devices have been read

    def run(self, ctx: RunContext) -> dict[str, Any]:
        mapping = EmployeeMapping.from_settings()
        create = bool(ctx.params.get("create", zk_setting("CREATE_EMPLOYEES")))
        templates = bool(ctx.params.get("templates", True))
        devices, failures = self.devices(ctx), list[texts.Text | str]()
        stored_fingers = 0
        for device in devices:
            if device.pk in ctx.checkpoint.get("done_devices", []):
                continue
            ctx.progress(
                stage=texts.gettext("Reading users from %(device)s", device=device.name), force=True
            )
            try:
                with DeviceSession(device) as session:
                    users = session.client.get_users()
                    fingers = session.client.get_templates() if templates else []
            except DeviceError as exc:
                self.device_failed(ctx, device, exc, failures)
                continue
            self.start_device(ctx, device, len(users))
            ctx.progress(
                stage=texts.gettext("Saving users of %(device)s", device=device.name), force=True
            )
            for batch in ctx.batches(users, size=zk_setting("CHUNK_SIZE")):
                with batch:
                    counts = store_employees(mapping, batch.items, create=create)
                    batch.succeeded(counts.created + counts.updated)
                    batch.skipped(counts.unchanged)
                    for problem in counts.problems:
                        batch.error(problem.message, ref=problem.ref, field=problem.field)
            pins = {u.uid: u.user_id for u in users}
            by_user: dict[str, list[DeviceTemplate]] = {}
            for t in fingers:
                if t.uid in pins:
                    by_user.setdefault(pins[t.uid], []).append(t)
            if by_user:
                with transaction.atomic():
                    stored_fingers += store_templates(device.serial_number, by_user)[0]
            self.device_done(ctx, device)
        self.finish(ctx, devices, failures)
        return {"devices": len(devices), "fingerprints": stored_fingers}


@register
class DownloadAttendanceOperation(DeviceOperation):
    """Store the devices' attendance records that are not stored yet. The devices are
    read in parallel (``parallel`` of them at once, default ``PARALLEL_DEVICES``).

    With ``clear``, each device's log is then cleared, but only after its records
    are committed and only if it holds exactly what was downloaded (the keypad
    stays locked meanwhile).
    """

    name = "zk.download_attendance"
    label = gettext_lazy("Download attendance")

    def get_total(self, task: BulkTask) -> int | None:
        return None  # known once the devices have been read

    def run(self, ctx: RunContext) -> dict[str, Any]:
        clear = bool(ctx.params.get("clear"))
        devices, failures = self.devices(ctx), list[texts.Text | str]()
        done = ctx.checkpoint.get("done_devices", [])
        sessions = [DownloadSession(d, clear=clear) for d in devices if d.pk not in done]
        workers = int(ctx.params.get("parallel") or zk_setting("PARALLEL_DEVICES"))
        report: dict[str, dict[str, Any]] = {}
        notes: list[texts.Text | str] = []
        ctx.progress(
            stage=texts.ngettext(
                "Reading %(count)s time clock", "Reading %(count)s time clocks", len(sessions)
            ),
            force=True,
        )
        # closing(): on a cancel or crash the fleet's sessions are closed right here,
        # not whenever the suspended generator happens to be collected.
        with closing(
            open_all(sessions, DownloadSession.fetch, workers=workers, tick=ctx.progress)
        ) as fleet:
            for opened in fleet:
                device, session = opened.device, opened.session
                if opened.error is not None:
                    self.device_failed(ctx, device, opened.error, failures)
                    report[device.name] = {"error": opened.error.detail}
                    continue
                try:
                    report[device.name] = self._store(ctx, session, opened.value or [], len(report))
                except DeviceError as exc:
                    self.device_failed(ctx, device, exc, failures)
                    report[device.name] = {"error": exc.detail}
                    continue
                finally:
                    session.close()
                if report[device.name].get("note"):
                    note = report[device.name]["note"]
                    notes.append(
                        texts.gettext("%(device)s: %(note)s", device=device.name, note=note)
                    )
                self.device_done(ctx, device)
        if notes:
            ctx.progress(message=texts.join(notes), force=True)
        self.finish(ctx, devices, failures)
        return {
            "devices": len(devices),
            "new": ctx.task.succeeded_count,
            "cleared": [name for name, r in report.items() if r.get("cleared")],
            "not_cleared": [str(n) for n in notes],
            "per_device": report,
        }

    def _store(
        self, ctx: RunContext, session: DownloadSession, punches: list[Punch], finished: int
    ) -> dict[str, Any]:
        device = session.device
        self.start_device(ctx, device, len(punches))
        ctx.progress(
            stage=texts.gettext(
                "Storing records of %(device)s (%(position)s of %(count)s time clocks)",
                device=device.name,
                position=finished + 1,
                count=len(ctx.params["devices"]),
            ),
            force=True,
        )
        new = known = 0
        for batch in ctx.batches(punches, size=zk_setting("CHUNK_SIZE")):
            with batch:
                fresh, seen = session.store(batch.items)
                batch.succeeded(fresh)
                batch.skipped(seen)
            new, known = new + fresh, known + seen
        result: dict[str, Any] = {"read": len(punches), "new": new, "known": known}
        if session.clear:
            result["cleared"], result["note"] = session.clear_if_unchanged()
        return result
