from __future__ import annotations

import zoneinfo
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from .client import ZKClient


class Device(models.Model):
    """A ZKTeco time clock on the network."""

    class Protocol(models.TextChoices):
        TCP = "tcp", "TCP"
        UDP = "udp", "UDP"

    class UserFormat(models.IntegerChoices):
        ZK8 = 72, _("72-byte user records (text user ids)")
        ZK6 = 28, _("28-byte user records (numeric user ids)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=4370)
    password = models.PositiveIntegerField(
        _("comm key"), default=0, help_text=_("The device's communication password; 0 for none.")
    )
    protocol = models.CharField(
        _("protocol"), max_length=3, choices=Protocol.choices, default=Protocol.TCP
    )
    timeout = models.FloatField(
        _("timeout"), default=10.0, help_text=_("Seconds to wait for each answer.")
    )
    user_format = models.PositiveSmallIntegerField(
        _("user record format"),
        choices=UserFormat.choices,
        null=True,
        blank=True,
        help_text=_("Leave empty to detect it from the users on the device."),
    )
    name_max_bytes = models.PositiveSmallIntegerField(
        _("name length limit (bytes)"),
        null=True,
        blank=True,
        help_text=_("Bytes of a name the device keeps, if less than its record allows."),
    )
    encoding = models.CharField(_("text encoding"), max_length=20, default="utf-8")
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Zone of the device clock (e.g. Europe/Berlin); empty: TIME_ZONE."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    # Read from the device on every contact.
    serial_number = models.CharField(_("serial number"), max_length=64, blank=True)
    firmware_version = models.CharField(_("firmware version"), max_length=100, blank=True)
    platform = models.CharField(_("platform"), max_length=100, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    # One conversation per device at a time, across processes: a lease, see locking.py.
    session_token = models.CharField(max_length=64, blank=True, editable=False)
    session_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("time clock")
        verbose_name_plural = _("time clocks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_time_zone(self) -> tzinfo:
        if self.time_zone:
            return zoneinfo.ZoneInfo(self.time_zone)
        return timezone.get_default_timezone()

    def to_aware(self, value: datetime) -> datetime:
        """A naive device timestamp as an aware datetime (or naive, when USE_TZ is off)."""
        if not settings.USE_TZ:
            return value
        return timezone.make_aware(value, self.get_time_zone())

    def client(self, **overrides: object) -> ZKClient:
        from .client import ZKClient

        options: dict[str, object] = {
            "password": self.password,
            "timeout": self.timeout,
            "udp": self.protocol == self.Protocol.UDP,
            "encoding": self.encoding or "utf-8",
            "user_format": self.user_format,
            "name_max_bytes": self.name_max_bytes,
            "label": f"Device {self.name!r} ({self.host}:{self.port})",
        }
        options.update(overrides)
        return ZKClient(self.host, self.port, **options)  # type: ignore[arg-type]


class AttendanceRecord(models.Model):
    """One punch, stored once: the device serial, user id, time and punch type are unique."""

    device = models.ForeignKey(
        Device,
        verbose_name=_("device"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attendance_records",
    )
    device_serial = models.CharField(_("device serial number"), max_length=64)
    user_id = models.CharField(_("user id"), max_length=24)
    timestamp = models.DateTimeField(_("time"))
    punch = models.PositiveSmallIntegerField(_("punch"), default=0)
    status = models.PositiveSmallIntegerField(_("status"), default=0)
    downloaded_at = models.DateTimeField(_("downloaded"), default=timezone.now)

    class Meta:
        verbose_name = _("attendance record")
        verbose_name_plural = _("attendance records")
        ordering = ["-timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["device_serial", "user_id", "timestamp", "punch"],
                name="bulkops_zk_attendance_unique",
            )
        ]
        indexes = [
            models.Index(fields=["device_serial", "timestamp"], name="bulkops_zk_att_serial_ts"),
            models.Index(fields=["user_id", "timestamp"], name="bulkops_zk_att_user_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.timestamp:%Y-%m-%d %H:%M:%S} ({self.device_serial})"


class FingerTemplate(models.Model):
    """One enrolled finger of a person, by the user id (PIN) they carry on every clock,
    so it follows them from one device to another. ``template`` is kept byte for byte."""

    user_id = models.CharField(_("user id"), max_length=24)
    finger = models.PositiveSmallIntegerField(_("finger"), help_text=_("0-9"))
    template = models.BinaryField(_("template"))
    valid = models.PositiveSmallIntegerField(_("valid flag"), default=1)
    device_serial = models.CharField(_("read from device"), max_length=64, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("fingerprint template")
        verbose_name_plural = _("fingerprint templates")
        ordering = ["user_id", "finger"]
        constraints = [
            models.UniqueConstraint(fields=["user_id", "finger"], name="bulkops_zk_finger_unique"),
            models.CheckConstraint(condition=models.Q(finger__lte=9), name="bulkops_zk_finger_0_9"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} finger {self.finger}"
