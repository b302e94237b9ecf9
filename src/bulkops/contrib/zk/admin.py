from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import AttendanceRecord, Device, FingerTemplate


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "name", "host", "port", "protocol", "serial_number", "firmware_version",
        "last_contact_at", "short_error", "is_active",
    ]  # fmt: skip
    list_filter = ["is_active", "protocol"]
    search_fields = ["name", "host", "serial_number"]
    readonly_fields = (
        "serial_number", "firmware_version", "platform", "last_contact_at", "last_error",
    )  # fmt: skip
    fieldsets = [
        (None, {"fields": ["name", "is_active"]}),
        (_("Connection"), {"fields": ["host", "port", "protocol", "password", "timeout"]}),
        (
            _("Data"),
            {"fields": ["user_format", "name_max_bytes", "encoding", "time_zone"]},
        ),
        (_("Read from the device"), {"fields": list(readonly_fields)}),
    ]
    actions = ["test_connection"]

    @admin.display(description=_("last error"))
    def short_error(self, obj: Device) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Test the connection to the selected devices"))
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        from .exceptions import DeviceError
        from .sessions import contact, record_failure

        for device in queryset[:20]:  # runs in the request: keep it small and bounded
            try:
                with device.client(retries=0, call_timeout=device.timeout * 2) as client:
                    info = contact(device, client)
            except DeviceError as exc:
                record_failure(device, exc)
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(device)s: serial %(serial)s, %(users)d users, %(records)d records")
                    % {
                        "device": device.name,
                        "serial": info.serial_number,
                        "users": info.users,
                        "records": info.records,
                    },
                    messages.SUCCESS,
                )


@admin.register(AttendanceRecord)
class AttendanceRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["timestamp", "user_id", "punch", "status", "device_serial", "device"]
    list_filter = ["device", "punch"]
    search_fields = ["user_id", "device_serial"]
    date_hierarchy = "timestamp"
    list_select_related = ["device"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FingerTemplate)
class FingerTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: templates come from the clocks (``zk.pull_users``), as opaque bytes."""

    list_display = ["user_id", "finger", "size", "valid", "device_serial", "updated_at"]
    list_filter = ["finger", "device_serial"]
    search_fields = ["user_id"]
    exclude = ["template"]

    @admin.display(description=_("size (bytes)"))
    def size(self, obj: FingerTemplate) -> int:
        return len(obj.template)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
