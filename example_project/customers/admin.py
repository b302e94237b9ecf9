from __future__ import annotations

from typing import Any

from django.contrib import admin

from bulkops.admin import BulkAdminMixin, bulk_action
from customers.models import Customer, Order


@bulk_action(description="Mark selected customers inactive")
def mark_inactive(queryset: Any) -> int:
    return int(queryset.update(active=False))


@admin.register(Customer)
class CustomerAdmin(BulkAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "email", "city", "country", "active")
    list_filter = ("active", "country")
    search_fields = ("name", "email", "city")
    actions = [mark_inactive, bulk_action("customers.deactivate")]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "customer", "total", "created_at")
    raw_id_fields = ("customer",)
