from __future__ import annotations

from typing import Any

from django.contrib import admin

from bulkops.admin import BulkOpsAdminMixin, bulk_action
from tests.testapp.models import Customer


@bulk_action(description="Mark selected customers inactive")
def mark_inactive(queryset: Any) -> int:
    return int(queryset.update(active=False))


@admin.register(Customer)
class CustomerAdmin(BulkOpsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "email", "city", "active")
    list_filter = ("city",)
    actions = [
        mark_inactive,
        bulk_action("tests.deactivate"),
        bulk_action("tests.relocate"),
        bulk_action("update", description="Update selected customers"),
    ]
    bulkops_options = {"update": {"fields": ["city", "active"]}}
