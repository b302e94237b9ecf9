"""zk.push_users and zk.copy_users: writing users (with their fingerprints) to many
time clocks in one task.

Every target device gets a session, opened in parallel; each batch of users is then
written to all devices at once, one thread per device (a device's client is only
ever used by one thread at a time). The device round trips happen outside the
batch's transaction, which only records the outcome, so no database lock is held
while devices talk; the leases are renewed from the task's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulkops import texts
from bulkops.registry import register

from .conf import zk_setting
from .employees import employee_users
from .exceptions import DeviceError, SyncFailed
from .fleet import open_all
from .mapping import EmployeeMapping
from .models import Device
from .operations import DeviceOperation
from .records import DeviceTemplate, DeviceUser
from .sessions import DeviceSession, PushOutcome, PushSession
from .storage import stored_templates

if TYPE_CHECKING:
    from bulkops.context import Batch, RunContext
    from bulkops.models import BulkTask
    from bulkops.types import UserLike

PUSH_BATCH = 50

#: (row ref, user, fingers to write or None) for each user a push writes.
Item = tuple[str, DeviceUser, list[DeviceTemplate] | None]


class UserPush(DeviceOperation):
    """Writes users to every target device; a device that fails is reported and
    left out from then on, the others go on."""

    def push(
        self,
        ctx: RunContext,
        devices: list[Device],
        batches: Iterator[Batch],
        convert: Callable[[Batch], tuple[list[Item], list[Any]]],
        wanted_ids: Callable[[], set[str]],
    ) -> dict[str, Any]:
        workers = int(ctx.params.get("parallel") or zk_setting("PARALLEL_DEVICES"))
        failures: list[texts.Text | str] = []
        sessions: dict[int, PushSession] = {}
        written = removed = 0
        ctx.progress(
            stage=texts.ngettext(
                "Connecting to %(count)s time clock",
                "Connecting to %(count)s time clocks",
                len(devices),
            ),
            force=True,
        )
        opening = [PushSession(device) for device in devices]
        pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(devices))))
        try:
            with closing(open_all(opening, _nothing, workers=workers, tick=ctx.progress)) as fleet:
                for opened in fleet:
                    if opened.error is not None:
                        self.device_failed(ctx, opened.device, opened.error, failures)
                    else:
                        sessions[opened.device.pk] = opened.session
            ctx.progress(stage=texts.gettext("Writing users"), force=True)
            for batch in batches:
                items, problems = convert(batch)
                for session in sessions.values():
                    session.keep_alive()
                verdicts = self._push_everywhere(ctx, items, sessions, failures, pool)
                with batch:
                    for problem in problems:
                        batch.error(problem.message, ref=problem.ref, field=problem.field)
                    for (ref, _user, _fingers), (status, message, field) in zip(
                        items, verdicts, strict=True
                    ):
                        if status == "invalid":
                            batch.error(message, ref=ref, field=field)
                        elif status == "written":
                            batch.succeeded()
                            written += 1
                        else:
                            batch.skipped()
            if ctx.params.get("remove_missing") and sessions:
                ctx.progress(
                    stage=texts.gettext("Removing users that are not in the list"), force=True
                )
                wanted = wanted_ids()
                for pk, session in list(sessions.items()):
                    try:
                        removed += session.remove_missing(wanted)
                    except DeviceError as exc:
                        self.device_failed(ctx, session.device, exc, failures)
                        del sessions[pk]
                        session.close()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for session in sessions.values():
                session.close()  # unlock, disconnect, release: also on cancel or crash
        self.finish(ctx, devices, failures)
        return {"devices": len(devices), "written": written, "removed": removed}

    def _push_everywhere(
        self,
        ctx: RunContext,
        items: list[Item],
        sessions: dict[int, PushSession],
        failures: list[texts.Text | str],
        pool: ThreadPoolExecutor,
    ) -> list[tuple[str, texts.Text | str, str]]:
        """Write the items to every open device at once: per item ("written" |
        "unchanged" | "invalid", message, field). A device that fails is closed."""
        futures = {pk: pool.submit(_write_all, s, items) for pk, s in sessions.items()}
        results: dict[int, list[PushOutcome]] = {}
        for pk, future in futures.items():
            try:
                results[pk] = future.result()
            except DeviceError as exc:
                session = sessions.pop(pk)
                self.device_failed(ctx, session.device, exc, failures)
                session.close()
        verdicts: list[tuple[str, texts.Text | str, str]] = []
        for n in range(len(items)):
            outcomes = [(sessions[pk].device, results[pk][n]) for pk in results]
            bad = [(d, o) for d, o in outcomes if o.status == "invalid"]
            if bad:
                message = texts.join(
                    [
                        texts.gettext("%(device)s: %(note)s", device=d.name, note=o.message)
                        for d, o in bad
                    ]
                )
                verdicts.append(("invalid", message, bad[0][1].field))
            elif any(o.status == "written" for _d, o in outcomes):
                verdicts.append(("written", "", ""))
            else:
                verdicts.append(("unchanged", "", ""))
        return verdicts


def _nothing(session: PushSession) -> None:
    """Opening a push session reads what it needs (the device's users) already."""


def _write_all(session: PushSession, items: Sequence[Item]) -> list[PushOutcome]:
    # On a worker thread: device calls only, no database (see PushSession.write).
    return [session.write(user, fingers) for _ref, user, fingers in items]


@register
class PushUsersOperation(UserPush):
    """Write the selected employees (default: all) to the devices, matched by user id,
    with the fingerprints stored for them (unless ``templates`` is false).

    Params: ``devices``, ``remove_missing`` (delete device users that are not among
    the employees), ``templates``.
    """

    name = "zk.push_users"
    label = gettext_lazy("Push users to time clocks")

    def get_total(self, task: BulkTask) -> int | None:
        return self._employees(task).count()

    def _employees(self, task: BulkTask) -> models.QuerySet[Any]:
        queryset = task.get_queryset()
        return queryset if queryset is not None else EmployeeMapping.from_settings().get_queryset()

    def run(self, ctx: RunContext) -> dict[str, Any]:
        mapping = EmployeeMapping.from_settings()
        employees = self._employees(ctx.task)
        templates = bool(ctx.params.get("templates", True))

        def convert(batch: Batch) -> tuple[list[Item], list[Any]]:
            converted = employee_users(mapping, employees.filter(pk__in=batch.items))
            ids = [user.user_id for _ref, user in converted.users]
            fingers = stored_templates(ids) if templates else {}
            items = [(ref, u, fingers.get(u.user_id)) for ref, u in converted.users]
            return items, converted.problems

        # Small batches: each user costs device round trips, and progress moves
        # (and the task's heartbeat is written) once per committed batch.
        size = int(ctx.params.get("chunk_size") or PUSH_BATCH)
        return self.push(
            ctx,
            self.devices(ctx),
            ctx.batches(employees, size=size),
            convert,
            lambda: {mapping.user_id_of(e) for e in employees.iterator()},
        )


@register
class CopyUsersOperation(UserPush):
    """Copy the users of the ``source`` device, with their fingerprints, to the
    ``devices`` (matched by user id; each target keeps its own slot numbers)."""

    name = "zk.copy_users"
    label = gettext_lazy("Copy users between time clocks")

    def clean_params(
        self,
        params: dict[str, Any],
        *,
        model: type[models.Model] | None,
        queryset: models.QuerySet[Any] | None,
        user: UserLike | None,
    ) -> dict[str, Any]:
        raw = getattr(params.get("source"), "pk", params.get("source"))
        try:
            source = Device.objects.get(pk=int(str(raw)))
        except (TypeError, ValueError, Device.DoesNotExist):
            raise ValidationError({"source": _("Choose the time clock to copy from.")}) from None
        cleaned = super().clean_params(params, model=model, queryset=queryset, user=user)
        targets = [pk for pk in cleaned["devices"] if pk != source.pk]
        if not targets:
            raise ValidationError({"devices": _("Choose a time clock other than the source.")})
        return {**cleaned, "source": source.pk, "devices": targets}

    def get_total(self, task: BulkTask) -> int | None:
        return None  # known once the source has been read

    def run(self, ctx: RunContext) -> dict[str, Any]:
        source = Device.objects.using(ctx.db).get(pk=ctx.params["source"])
        templates = bool(ctx.params.get("templates", True))
        ctx.progress(
            stage=texts.gettext("Reading users from %(device)s", device=source.name), force=True
        )
        try:
            with DeviceSession(source) as session:
                users = session.client.get_users()
                fingers = session.client.get_templates() if templates else []
        except DeviceError as exc:
            self.device_failed(ctx, source, exc, [])
            raise SyncFailed(
                texts.gettext("%(device)s: %(note)s", device=source.name, note=exc.detail)
            ) from exc
        by_uid: dict[int, list[DeviceTemplate]] = {}
        for t in fingers:
            by_uid.setdefault(t.uid, []).append(t)
        items: list[Item] = [
            (u.user_id, replace(u, uid=None), by_uid.get(u.uid or 0) or None) for u in users
        ]
        ctx.set_total(len(items))
        return self.push(
            ctx,
            self.devices(ctx),
            ctx.batches(items, size=int(ctx.params.get("chunk_size") or PUSH_BATCH)),
            lambda batch: (list(batch.items), []),
            lambda: {u.user_id for u in users},
        )
