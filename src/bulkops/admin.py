from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from bulkops.admin_actions import BulkAdminMixin, bulk_action
from bulkops.models import BulkTask, BulkTaskError

__all__ = ["BulkAdminMixin", "BulkTaskAdmin", "bulk_action"]


class BulkTaskErrorInline(admin.TabularInline):  # type: ignore[type-arg]
    model = BulkTaskError
    fields = ("row", "ref", "field", "message", "values")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = False
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> Any:
        # The inline shows the first errors; the task page paginates all of them.
        return super().get_queryset(request).order_by("row", "id")


@admin.register(BulkTask)
class BulkTaskAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "label",
        "operation",
        "status",
        "outcome",
        "owner",
        "processed",
        "total",
        "failed_count",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "outcome", "operation", "created_at")
    search_fields = ("id", "label", "operation", "model", "message", "owner__username")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in BulkTask._meta.fields if f.name != "query"]
    exclude = ("query",)
    inlines = [BulkTaskErrorInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
