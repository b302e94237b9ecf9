"""Django admin actions that run as bulk tasks, with the same progress UI.

``BulkAdminMixin`` turns the admin's own "Delete selected" into a background delete;
``bulk_action`` makes any registered operation, or a function applied chunk by chunk,
an admin action. Both work with "select all N" (``select_across``) without sending ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_format_dict
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from bulkops import api

try:
    from django.contrib.admin.options import ActionLocation  # type: ignore[attr-defined]

    _CHANGE_LIST: Any = ActionLocation.CHANGE_LIST
except ImportError:  # Django < 6.1
    ActionLocation = None  # type: ignore[misc,assignment]
    _CHANGE_LIST = None
from bulkops.context import RunContext
from bulkops.exceptions import NothingSelected, TaskConflict
from bulkops.operations.base import Operation
from bulkops.operations.steps import Step
from bulkops.registry import get_operation, register
from bulkops.views.tasks import progress_context


class BackgroundAction:
    """An admin action (a callable) that submits ``operation_name`` on the queryset.

    The operation is looked up on first use, so actions may name operations that are
    registered after the admin modules are imported.
    """

    def __init__(
        self,
        operation_name: str,
        *,
        action_name: str,
        description: Any = "",
        permissions: tuple[str, ...] | None = None,
        confirm: bool = True,
        params: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.operation_name = operation_name
        self.options = options or {}
        self.__name__ = action_name
        self._description = description
        self._permissions = permissions
        self.confirm = confirm
        self.params = params or {}

    @property
    def short_description(self) -> Any:
        return self._description or str(get_operation(self.operation_name).label)

    @property
    def allowed_permissions(self) -> tuple[str, ...]:
        if self._permissions is not None:
            return self._permissions
        permission = get_operation(self.operation_name).permission
        return (permission,) if permission else ()

    def get_options(
        self, modeladmin: admin.ModelAdmin[Any], request: HttpRequest
    ) -> dict[str, Any]:
        """The operation's step options: the action's own, then the ModelAdmin's
        ``get_bulkops_options(request, operation_name)`` when it has one."""
        options = dict(self.options)
        hook = getattr(modeladmin, "get_bulkops_options", None)
        if hook is not None:
            options.update(hook(request, self.operation_name))
        if not self.confirm:
            options["confirm"] = False
        return options

    def __call__(
        self,
        modeladmin: admin.ModelAdmin[Any],
        request: HttpRequest,
        queryset: Any,
        *,
        next_url: str | None = None,
    ) -> HttpResponse | None:
        opts = modeladmin.model._meta
        title = str(self.short_description) % model_format_dict(opts)
        operation = get_operation(self.operation_name)()
        step = Step(
            model=modeladmin.model,
            queryset=queryset,
            user=request.user,
            options=self.get_options(modeladmin, request),
        )
        posted = request.POST.get("post") == "yes"
        form = operation.get_form(step, request.POST if posted else None)
        confirmation = operation.get_confirmation(step)
        context = {
            **modeladmin.admin_site.each_context(request),
            "opts": opts,
            "app_label": opts.app_label,
            "title": title,
            "action_name": self.__name__,
        }

        def ask() -> HttpResponse:
            select_across = request.POST.get("select_across") == "1"
            context.update(
                {
                    "count": queryset.count(),
                    "select_across": select_across,
                    # The admin wants the ticked page rows even with select_across.
                    "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                    "form": form,
                    "confirmation": confirmation,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                }
            )
            return TemplateResponse(request, "bulkops/admin/confirm.html", context)

        needs_step = form is not None or confirmation is not None
        if needs_step and (not posted or (form is not None and not form.is_valid())):
            return ask()
        params = dict(self.params)
        if form is not None:
            params.update(operation.params_from_form(form, step))
        try:
            task = api.submit(
                self.operation_name,
                user=request.user,
                queryset=queryset,
                params=params,
                check_permission=False,  # the admin checked allowed_permissions already
            )
        except (TaskConflict, NothingSelected) as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        except ValidationError as exc:
            if form is not None and hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                return ask()
            modeladmin.message_user(request, " ".join(exc.messages), messages.ERROR)
            return None
        if getattr(modeladmin, "bulkops_progress_on_changelist", False):
            # The changelist shows the task's progress bar above the rows.
            modeladmin.message_user(request, _("Started: %(task)s") % {"task": task.label})
            return HttpResponseRedirect(next_url or request.get_full_path())
        task.refresh_from_db()
        context.update(progress_context(task))
        return TemplateResponse(request, "bulkops/admin/progress.html", context)


def bulk_action(
    target: str | Callable[..., Any] | None = None,
    /,
    *,
    description: str = "",
    permissions: tuple[str, ...] | None = None,
    confirm: bool = True,
    params: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> Any:
    """An admin action that runs as a background task.

    ``bulk_action("customers.deactivate")`` wraps a registered operation, with the
    step it declares (its form, its confirmation; ``options`` configure them, e.g.
    ``bulk_action("update", options={"fields": ["city"]})``);
    ``@bulk_action(description=...)`` on ``def f(queryset)`` registers ``f`` as an
    operation called once per chunk with that chunk's rows (return how many it changed).
    """
    if isinstance(target, str):
        return BackgroundAction(
            target,
            action_name=target.rsplit(".", 1)[-1].replace("-", "_"),
            description=description,
            permissions=permissions,
            confirm=confirm,
            params=params,
            options=options,
        )

    def decorator(function: Callable[[models.QuerySet[Any]], int | None]) -> BackgroundAction:
        name = f"admin:{function.__module__}.{function.__qualname__}"
        label = description or function.__name__.replace("_", " ").capitalize()
        register(_chunk_operation(name, label, function))
        return BackgroundAction(
            name,
            action_name=function.__name__,
            description=label,
            permissions=permissions if permissions is not None else ("change",),
            confirm=confirm,
            params=params,
        )

    if callable(target):
        return decorator(target)
    return decorator


def _chunk_operation(
    name: str, label: str, function: Callable[[models.QuerySet[Any]], int | None]
) -> type[Operation]:
    def run(self: Operation, ctx: RunContext) -> dict[str, Any]:
        manager = ctx.queryset.model._base_manager.using(ctx.db)
        for batch in ctx.batches(ctx.queryset):
            with batch:
                changed = function(manager.filter(pk__in=batch.items))
                done = len(batch) if changed is None else int(changed)
                batch.succeeded(done)
                batch.skipped(max(len(batch) - done, 0))
        return {}

    attrs = {
        "name": name,
        "label": label,
        "requires_queryset": True,
        "locks_model": True,
        "run": run,
        "get_label": lambda self, task: label,
        "__module__": function.__module__,
        "__qualname__": f"AdminChunkOperation[{name}]",
    }
    return type(f"AdminChunkOperation_{function.__name__}", (Operation,), attrs)


bulk_delete_selected = BackgroundAction(
    "delete",
    action_name="delete_selected",
    description=_("Delete selected %(verbose_name_plural)s"),
    permissions=("delete",),
)


class BulkAdminMixin:
    """Put before ``admin.ModelAdmin``: "Delete selected" runs as a background task."""

    if ActionLocation is not None:  # Django 6.1+

        def get_actions(
            self, request: HttpRequest, action_location: Any = _CHANGE_LIST
        ) -> dict[str, Any]:
            actions = super().get_actions(request, action_location=action_location)  # type: ignore[misc]
            return _with_bulk_delete(actions)

    else:

        def get_actions(self, request: HttpRequest) -> dict[str, Any]:  # type: ignore[misc]
            return _with_bulk_delete(super().get_actions(request))  # type: ignore[misc]


def _with_bulk_delete(actions: dict[str, Any]) -> dict[str, Any]:
    current = actions.get("delete_selected")
    if current is None:
        return actions
    if dataclasses.is_dataclass(current):  # Django 6.1+: an Action
        actions["delete_selected"] = dataclasses.replace(
            current,  # type: ignore[type-var]
            func=bulk_delete_selected,
        )
    else:  # (func, name, description)
        actions["delete_selected"] = (bulk_delete_selected, *current[1:])
    return actions
