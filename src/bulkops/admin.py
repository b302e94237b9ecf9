from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bulkops.admin_actions import BackgroundAction, BulkAdminMixin, bulk_action
from bulkops.admin_mixin import AdminImportView, BulkOpsAdminMixin, export_action
from bulkops.models import BulkTask, BulkTaskError
from bulkops.tabular.names import display_name

__all__ = [
    "AdminImportView",
    "BackgroundAction",
    "BulkAdminMixin",
    "BulkOpsAdminMixin",
    "BulkTaskAdmin",
    "bulk_action",
    "export_action",
]

# The file fields are shown by the methods below, never by the admin's own widget: that
# widget links to the storage URL, which no permission check stands in front of.
_FILE_FIELDS = {"input_file": "input_file_name", "result_file": "result_file_link"}
# Texts are shown in the reader's language; their message ids are for programs.
_TEXTS = {
    "label": "label_display",
    "operation": "operation_display",
    "message": "message_display",
    "stage": "stage_display",
}
_TEXT_IDS = ("label_data", "message_data", "stage_data")
_SHOWN = {**_FILE_FIELDS, **_TEXTS}


class BulkTaskErrorInline(admin.TabularInline):  # type: ignore[type-arg]
    model = BulkTaskError
    fields = ("row", "ref", "field", "reason", "values")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = False
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> Any:
        # The inline shows the first errors; the task page paginates all of them.
        return super().get_queryset(request).order_by("row", "id")

    @admin.display(description=_("message"))
    def reason(self, error: BulkTaskError) -> str:
        return error.get_message_display()


class OperationFilter(admin.SimpleListFilter):
    """The operations of the tasks one may see, by their labels."""

    title = _("operation")
    parameter_name = "operation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = model_admin.get_queryset(request).order_by().values_list("operation", flat=True)
        return [(n, BulkTask(operation=n).get_operation_display()) for n in sorted(set(names))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[BulkTask]) -> QuerySet[BulkTask]:
        return queryset.filter(operation=self.value()) if self.value() else queryset


@admin.register(BulkTask)
class BulkTaskAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Tasks under the same rule as the bulkops pages: the owner's own, or every task for
    users with ``bulkops.view_all_tasks`` (``view_bulktask`` alone opens the admin page)."""

    list_display = (
        "label_display",
        "operation_display",
        "status",
        "outcome",
        "owner",
        "processed",
        "total",
        "failed_count",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "outcome", OperationFilter, "created_at")
    search_fields = ("id", "label", "operation", "model", "message", "owner__username")
    date_hierarchy = "created_at"
    readonly_fields = [
        _SHOWN.get(f.name, f.name)
        for f in BulkTask._meta.fields
        if f.name != "query" and f.name not in _TEXT_IDS
    ]
    exclude = ("query", *_FILE_FIELDS, *_TEXT_IDS)
    inlines = [BulkTaskErrorInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BulkTask]:
        # The change page, history, delete and every file link go through this queryset,
        # so another user's task is "not found" there too.
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined,no-any-return]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("label"), ordering="label")
    def label_display(self, task: BulkTask) -> str:
        return task.get_label_display()

    @admin.display(description=_("operation"), ordering="operation")
    def operation_display(self, task: BulkTask) -> str:
        return task.get_operation_display()

    @admin.display(description=_("message"))
    def message_display(self, task: BulkTask) -> str:
        return task.get_message_display()

    @admin.display(description=_("stage"))
    def stage_display(self, task: BulkTask) -> str:
        return task.get_stage_display()

    @admin.display(description=_("input file"))
    def input_file_name(self, task: BulkTask) -> str:
        # Stored uploads are the parsed rows the import reads, not something to hand out.
        return display_name(task.input_file.name or "") if task.input_file else "-"

    @admin.display(description=_("result file"))
    def result_file_link(self, task: BulkTask) -> str:
        if not task.result_file:
            return "-"
        name = (task.result_file.name or "").rsplit("/", 1)[-1]
        try:
            # The download view checks the task's visibility on every request.
            url = reverse("bulkops:task-download", kwargs={"pk": task.pk})
        except NoReverseMatch:  # bulkops.urls not included: no link rather than a bare URL
            return name
        return format_html('<a href="{}">{}</a>', url, name)
