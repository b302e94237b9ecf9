"""One conversation per device at a time, across threads, processes and hosts.

A device row carries a lease (token + expiry), taken with a single conditional
UPDATE, so it works the same on every database and needs no open transaction. A
worker that dies leaves a lease that simply runs out.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from bulkops import texts

from .conf import zk_setting
from .exceptions import DeviceBusy
from .models import Device


class DeviceLease:
    def __init__(self, device: Device, token: str, seconds: float) -> None:
        self.device = device
        self.token = token
        self.seconds = seconds
        self._renewed = time.monotonic()

    def renew(self, *, force: bool = False) -> None:
        """Push the expiry forward; cheap to call often (writes at most every lease/4)."""
        if not force and time.monotonic() - self._renewed < self.seconds / 4:
            return
        Device.objects.filter(pk=self.device.pk, session_token=self.token).update(
            session_expires_at=timezone.now() + timedelta(seconds=self.seconds)
        )
        self._renewed = time.monotonic()


@contextmanager
def device_session(
    device: Device, *, wait: float | None = None, lease: float | None = None
) -> Iterator[DeviceLease]:
    """Hold the device's lease for the block, waiting up to ``wait`` seconds for it."""
    wait = zk_setting("LOCK_WAIT") if wait is None else wait
    lease = zk_setting("SESSION_LEASE") if lease is None else lease
    token = uuid.uuid4().hex
    give_up = time.monotonic() + wait
    while True:
        now = timezone.now()
        taken = (
            Device.objects.filter(pk=device.pk)
            .filter(Q(session_expires_at__isnull=True) | Q(session_expires_at__lt=now))
            .update(session_token=token, session_expires_at=now + timedelta(seconds=lease))
        )
        if taken:
            break
        if time.monotonic() >= give_up:
            raise DeviceBusy(
                f"Device {device.name!r} ({device.host}:{device.port})",
                texts.gettext(
                    "another job has been talking to this device for over %(seconds)s s; "
                    "try again when it has finished",
                    seconds=float(wait),
                ),
            )
        time.sleep(min(0.5, max(wait / 10, 0.05)))
    try:
        yield DeviceLease(device, token, lease)
    finally:
        Device.objects.filter(pk=device.pk, session_token=token).update(
            session_token="", session_expires_at=None
        )
