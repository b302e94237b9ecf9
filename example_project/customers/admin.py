from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from bulkops.admin import BulkOpsAdminMixin, bulk_action
from customers.models import Customer, Order


@bulk_action(description=_("Mark selected customers inactive"))
def mark_inactive(queryset: Any) -> int:
    return int(queryset.update(active=False))


@admin.register(Customer)
class CustomerAdmin(BulkOpsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Import and Export buttons, "Export selected" (xlsx, csv, ods, json), background
    actions with their progress on the changelist, and a background "Delete selected"."""

    list_display = ("name", "email", "city", "country", "active")
    list_filter = ("active", "country")
    search_fields = ("name", "email", "city")
    actions = [
        mark_inactive,
        bulk_action("customers.deactivate"),
        bulk_action("customers.relocate"),
        bulk_action("update", description=_("Update selected customers")),
    ]
    bulkops_options = {"update": {"fields": ["city", "country", "active"]}}


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "customer", "total", "created_at")
    raw_id_fields = ("customer",)
