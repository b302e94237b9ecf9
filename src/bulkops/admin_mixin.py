"""``BulkOpsAdminMixin``: import, export and background actions on a changelist.

Every piece is usable on its own with an existing ModelAdmin (docs/admin.md):
``AdminImportView`` (the import pages inside the admin), ``export_action`` (the
"Export selected" action), ``BulkAdminMixin`` (background "Delete selected") and the
``bulkops/admin/change_list.html`` template (buttons and running tasks).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bulkops.admin_actions import _CHANGE_LIST, ActionLocation, BackgroundAction, BulkAdminMixin
from bulkops.conf import settings
from bulkops.models import BulkTask
from bulkops.views.imports import ImportView

# Finished tasks stay on the changelist this long, so their result can be read there.
RECENT = datetime.timedelta(minutes=10)

export_action = BackgroundAction(
    "export",
    action_name="bulkops_export",
    description=_("Export selected %(verbose_name_plural)s"),
    permissions=("view",),
)
_export_all = BackgroundAction(
    "export",
    action_name="bulkops_export",
    description=_("Export %(verbose_name_plural)s"),
    permissions=("view",),
)


class AdminImportView(ImportView):
    """The import pages (upload, check, confirm, progress, result) inside the admin."""

    model_admin: admin.ModelAdmin[Any] | None = None

    def get_model(self) -> Any:
        assert self.model_admin is not None
        return self.model_admin.model

    def get_urls(self) -> dict[str, str]:
        opts = self.get_model()._meta
        name = (
            f"{self.model_admin.admin_site.name}:{opts.app_label}_{opts.model_name}_bulkops_import"  # type: ignore[union-attr]
        )
        return {"page": reverse(name)} | {
            step: reverse(f"{name}_{step}") for step in ("upload", "preview", "confirm")
        }

    def check_permission(self) -> None:
        model_admin = self.model_admin
        assert model_admin is not None
        if not (
            model_admin.has_add_permission(self.request)
            or model_admin.has_change_permission(self.request)
        ):
            raise PermissionDenied

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
        model_admin = self.model_admin
        assert model_admin is not None
        opts = self.get_model()._meta
        admin_context = {
            **model_admin.admin_site.each_context(self.request),
            "opts": opts,
            "app_label": opts.app_label,
            "title": _("Import %(plural)s") % {"plural": opts.verbose_name_plural},
            "base_template": "bulkops/admin/import_base.html",
        }
        return super().render(template, {**admin_context, **context}, status)


class BulkOpsAdminMixin(BulkAdminMixin):
    """Put before ``admin.ModelAdmin``: Import and Export buttons, an "Export selected"
    action with a choice of format and columns, background actions whose progress
    shows on the changelist, and a background "Delete selected"."""

    # The changelist template, unless the ModelAdmin sets its own change_list_template
    # (extend "bulkops/admin/change_list.html" in it to keep the buttons and tasks).
    bulkops_change_list_template = "bulkops/admin/change_list.html"

    # What the changelist offers.
    bulkops_import: bool = True
    bulkops_export: bool = True
    # The import pages; a subclass may set ``definition`` or ``check_inline_rows``.
    bulkops_import_view_class: type[AdminImportView] = AdminImportView
    # Started actions go back to the changelist, which shows their progress.
    bulkops_progress_on_changelist: bool = True
    # Options of each operation's step, e.g. {"export": {"fields": [...]},
    # "update": {"fields": ["city"]}} (docs/admin.md).
    bulkops_options: dict[str, dict[str, Any]] = {}

    model: Any
    admin_site: Any

    def get_bulkops_options(self, request: HttpRequest, operation_name: str) -> dict[str, Any]:
        return dict(self.bulkops_options.get(operation_name, {}))

    def has_bulkops_import_permission(self, request: HttpRequest) -> bool:
        return self.bulkops_import and (
            self.has_add_permission(request) or self.has_change_permission(request)  # type: ignore[attr-defined]
        )

    def has_bulkops_export_permission(self, request: HttpRequest) -> bool:
        return self.bulkops_export and self.has_view_permission(request)  # type: ignore[attr-defined]

    # URLs ------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_bulkops"
        wrap = self.admin_site.admin_view
        view_class = self.bulkops_import_view_class

        def importer(step: str) -> Any:
            return wrap(view_class.as_view(model_admin=self, step=step))

        urls = [
            path("import/", importer("page"), name=f"{name}_import"),
            *(
                path(f"import/{step}/", importer(step), name=f"{name}_import_{step}")
                for step in ("upload", "preview", "confirm")
            ),
            path("export/", wrap(self.bulkops_export_view), name=f"{name}_export"),
        ]
        return urls + super().get_urls()  # type: ignore[misc,no-any-return]

    # Actions ---------------------------------------------------------------------
    if ActionLocation is not None:  # Django 6.1+: actions have a location

        def get_actions(
            self, request: HttpRequest, action_location: Any = _CHANGE_LIST
        ) -> dict[str, Any]:
            actions = super().get_actions(request, action_location=action_location)
            return self._with_export(request, actions, action_location=action_location)

    else:

        def get_actions(self, request: HttpRequest) -> dict[str, Any]:  # type: ignore[misc]
            return self._with_export(request, super().get_actions(request))

    def _with_export(
        self, request: HttpRequest, actions: dict[str, Any] | None, **location: Any
    ) -> dict[str, Any]:
        if actions is not None and self.has_bulkops_export_permission(request):
            action = self.get_action(export_action, **location)  # type: ignore[attr-defined]
            if action is not None:
                actions = {**actions, "bulkops_export": action}
        return actions or {}

    # Views -----------------------------------------------------------------------
    def bulkops_export_view(self, request: HttpRequest) -> HttpResponse:
        """Export every row matching the changelist's current filters."""
        if not self.has_bulkops_export_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        queryset = changelist.get_queryset(request)
        opts = self.model._meta
        back = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
        back += changelist.get_query_string()
        response = _export_all(self, request, queryset, next_url=back)  # type: ignore[arg-type]
        return response or HttpResponseRedirect(back)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        opts = self.model._meta
        prefix = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_bulkops"
        query = request.GET.urlencode()
        context = {
            "bulkops": {
                "import_url": reverse(f"{prefix}_import")
                if self.has_bulkops_import_permission(request)
                else "",
                "export_url": reverse(f"{prefix}_export") + (f"?{query}" if query else "")
                if self.has_bulkops_export_permission(request)
                else "",
                "tasks": self.get_bulkops_tasks(request),
            },
            "poll_interval": settings.POLL_INTERVAL,
            **(extra_context or {}),
        }
        if not getattr(self, "change_list_template", None):
            self.__dict__["change_list_template"] = self.bulkops_change_list_template
        return super().changelist_view(request, extra_context=context)  # type: ignore[misc,no-any-return]

    def get_bulkops_tasks(self, request: HttpRequest) -> list[BulkTask]:
        """The user's own tasks on this model that are running or just finished."""
        if not request.user.is_authenticated:
            return []
        since = timezone.now() - RECENT
        recent = BulkTask.objects.filter(
            Q(finished_at__isnull=True) | Q(finished_at__gte=since),
            owner=request.user,
            model=self.model._meta.label_lower,
        ).order_by("-created_at")[:20]
        # An import's dry run is part of its own page, not a job of its own.
        return [task for task in recent if not (task.params or {}).get("dry_run")][:5]
