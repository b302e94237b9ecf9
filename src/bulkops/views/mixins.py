"""``BulkMixin``: bulk delete, bulk update and project operations for any list view."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string, select_template
from django.utils.translation import gettext as _

from bulkops import api
from bulkops.conf import settings
from bulkops.exceptions import NothingSelected, TaskConflict, UnknownOperation
from bulkops.forms import BulkUpdateForm, bulk_update_form_factory
from bulkops.models import BulkTask
from bulkops.operations.base import Operation
from bulkops.operations.steps import Step
from bulkops.operations.update import updatable_field
from bulkops.registry import get_operation
from bulkops.views.selection import (
    Selection,
    SelectionTooLarge,
    clean_pks,
    filter_key,
    invalid_pks,
)
from bulkops.views.tasks import progress_context


class BulkMixin:
    """Add to a ``ListView`` (or django-filter's ``FilterView``) before the view class."""

    # Actions offered in the action bar: "delete", "update", or any registered operation.
    bulk_actions: list[str] = ["delete", "update"]

    # Bulk update: the fields the form offers, and how rows are written
    # ("queryset": one UPDATE per chunk; "objects": full_clean() and save() per object).
    bulk_update_fields: list[str] | None = None
    bulk_update_mode: str = "queryset"
    bulk_update_form_class: type[BulkUpdateForm] = BulkUpdateForm

    # Bulk delete: show the rows per model that will go before deleting.
    bulk_confirm_delete: bool = True

    # Options handed to an operation's step (its form and confirmation), by action name.
    bulk_options: dict[str, dict[str, Any]] = {}

    # Jobs with fewer rows run inline in the request; None uses BULKOPS["SYNC_THRESHOLD"].
    bulk_sync_threshold: int | None = None

    # Permissions: action name -> "app_label.codename", or None for any logged-in user.
    # Actions not listed need the operation's own model permission (delete, change, ...).
    bulk_permissions: dict[str, str | None] = {}

    # Templates: suffix -> template name, tried before
    # "<app_label>/<model_name>_bulk_<suffix>.html" and "bulkops/partials/<suffix>.html".
    bulk_templates: dict[str, str] = {}

    # Selection: rows that can be ticked one by one (beyond it, "select all matching").
    bulk_max_selected_ids: int = 10_000

    request: HttpRequest

    # Configuration hooks

    def get_bulk_actions(self) -> list[str]:
        actions = list(self.bulk_actions)
        for name in actions:
            try:
                get_operation(name)
            except UnknownOperation:
                raise ImproperlyConfigured(
                    f"'{type(self).__name__}' lists {name!r} in bulk_actions, but no bulk "
                    "operation has that name; register it with @bulkops.operation or remove it."
                ) from None
        return actions

    def get_bulk_update_fields(self) -> list[str]:
        fields = self.bulk_update_fields
        if not fields:
            raise ImproperlyConfigured(
                f"'{type(self).__name__}' must define 'bulk_update_fields' to offer 'update', "
                "or remove it from bulk_actions."
            )
        model = self.get_bulk_model()
        for name in fields:
            try:
                updatable_field(model, name)
            except ValidationError as exc:
                raise ImproperlyConfigured(
                    f"'{type(self).__name__}'.bulk_update_fields: {exc.messages[0]} "
                    "Use concrete, editable, non-primary-key fields."
                ) from None
        return list(fields)

    def get_bulk_update_mode(self) -> str:
        if self.bulk_update_mode not in ("queryset", "objects"):
            raise ImproperlyConfigured(
                f"'{type(self).__name__}'.bulk_update_mode must be 'queryset' or 'objects'."
            )
        return self.bulk_update_mode

    def get_bulk_update_form_class(self) -> type[BulkUpdateForm]:
        return bulk_update_form_factory(
            self.get_bulk_model(), self.get_bulk_update_fields(), self.bulk_update_form_class
        )

    def get_bulk_sync_threshold(self) -> int | None:
        return self.bulk_sync_threshold

    def get_bulk_lock_scope(self) -> str | None:
        """Narrow the "one unfinished job per model" guard, e.g. to the request's tenant.

        Jobs whose scopes differ run side by side; None (the default) locks the model.
        """
        return None

    def get_bulk_permissions(self) -> dict[str, str | None]:
        return dict(self.bulk_permissions)

    def get_bulk_confirm_delete(self) -> bool:
        return self.bulk_confirm_delete

    def get_bulk_max_selected_ids(self) -> int:
        return self.bulk_max_selected_ids

    def get_bulk_model(self) -> type[models.Model]:
        model = getattr(self, "model", None)
        if model is None:
            queryset = getattr(self, "queryset", None)
            model = queryset.model if queryset is not None else None
        if model is None:
            model = self.get_queryset().model
        return model

    def get_bulk_template_names(self, suffix: str) -> list[str]:
        opts = self.get_bulk_model()._meta
        names = [self.bulk_templates[suffix]] if suffix in self.bulk_templates else []
        return [
            *names,
            f"{opts.app_label}/{opts.model_name}_bulk_{suffix}.html",
            f"bulkops/partials/{suffix}.html",
        ]

    def get_bulk_selection_key(self) -> str:
        """Session key of this view's selection; override to share or split selections."""
        return f"bulkops:selection:{type(self).__module__}.{type(self).__qualname__}"

    def get_bulk_params(self, action: str) -> dict[str, Any]:
        """Extra params for an operation's submit, beside those its form cleaned."""
        return {}

    def get_bulk_options(self, action: str) -> dict[str, Any]:
        """Options for ``action``'s step (``Operation.get_form``, ``get_confirmation``).

        ``bulk_options[action]`` first; the built-in operations also read the older
        attributes (``bulk_update_fields``, ``bulk_confirm_delete``, ...).
        """
        options: dict[str, Any] = {}
        if action == "update" and self.bulk_update_fields is not None:
            options = {
                "fields": self.get_bulk_update_fields(),
                "mode": self.get_bulk_update_mode(),
                "form_class": self.bulk_update_form_class,
            }
        elif action == "update":
            self.get_bulk_update_fields()  # says what to configure
        elif action == "delete":
            options = {"confirm": self.get_bulk_confirm_delete()}
        return {**options, **self.bulk_options.get(action, {})}

    # Querysets: the server decides which rows exist

    def get_queryset(self) -> models.QuerySet[Any]:
        # Provided by the list view this mixin is combined with.
        return super().get_queryset()  # type: ignore[misc,no-any-return]

    def get_bulk_filtered_queryset(self) -> models.QuerySet[Any]:
        """``get_queryset()`` narrowed by the request's filter, as the list page shows it."""
        if hasattr(self, "get_filterset_class"):  # django-filter's FilterView
            filterset = self.get_filterset(self.get_filterset_class())  # type: ignore[attr-defined]
            strict = self.get_strict()  # type: ignore[attr-defined]
            if not filterset.is_bound or filterset.is_valid() or not strict:
                return filterset.qs  # type: ignore[no-any-return]
            return filterset.queryset.none()  # type: ignore[no-any-return]
        return self.get_queryset()

    def get_bulk_selection(self) -> Selection:
        return Selection(
            self.request.session,
            self.get_bulk_selection_key(),
            filter_key(self.request.GET),
            max_ids=self.get_bulk_max_selected_ids(),
        )

    def get_bulk_queryset(self, selection: Selection | None = None) -> models.QuerySet[Any]:
        """The selected rows, always inside ``get_queryset()``."""
        selection = selection or self.get_bulk_selection()
        return selection.queryset(self.get_queryset(), self.get_bulk_filtered_queryset())

    # Permissions

    def has_bulk_permission(self, action: str) -> bool:
        user = self.request.user
        if not user.is_authenticated:
            return False
        permission = self._bulk_permission_for(action)
        return api.may_run(user, get_operation(action)(), self.get_bulk_model(), permission)

    def _bulk_permission_for(self, action: str) -> str | None:
        """The view's own permission for ``action``, as ``submit(permission=)`` takes it."""
        permissions = self.get_bulk_permissions()
        if action not in permissions:
            return None  # the operation's model permission
        return permissions[action] or "*"

    def get_bulk_allowed_actions(self) -> list[dict[str, str]]:
        actions = []
        for name in self.get_bulk_actions():
            # A misconfigured step fails on the list page, not at the first click.
            self.get_bulk_options(name)
            if self.has_bulk_permission(name):
                label = str(get_operation(name).label or name)
                actions.append({"name": name, "label": label})
        return actions

    # GET: the list page gets a ``bulk`` context

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        page_pks = [obj.pk for obj in context.get("object_list") or []]
        paginator = context.get("paginator")
        matching = paginator.count if paginator is not None else len(page_pks)
        context["bulk"] = self.get_bulk_context(self.get_bulk_selection(), page_pks, matching)
        return context

    def get_bulk_context(
        self, selection: Selection, page_pks: list[Any], matching: int | None = None
    ) -> dict[str, Any]:
        if matching is None:
            matching = self.get_bulk_filtered_queryset().count()
        if selection.all_matching and not selection.ids:
            count = matching
        elif selection.is_empty():
            count = 0
        else:
            count = self.get_bulk_queryset(selection).count()
        selected_on_page = {str(pk) for pk in page_pks if selection.is_selected(pk)}
        return {
            "url": self.request.get_full_path(),
            "actions": self.get_bulk_allowed_actions()
            if self.request.user.is_authenticated
            else [],
            "count": count,
            "matching": matching,
            "all_matching": selection.all_matching,
            "page_pks": [str(pk) for pk in page_pks],
            "selected": selected_on_page,
            "page_selected": bool(page_pks) and len(selected_on_page) == len(page_pks),
            "verbose_name": self.get_bulk_model()._meta.verbose_name,
            "verbose_name_plural": self.get_bulk_model()._meta.verbose_name_plural,
            "action_bar_template": select_template(self.get_bulk_template_names("action_bar")),
        }

    # POST: selection changes, action steps, submit

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            raise PermissionDenied(_("Log in to run bulk operations."))
        action = request.POST.get("bulk_action", "")
        op = request.POST.get("bulk_op") or ("action" if action else "")
        if op in ("toggle", "page", "all", "clear"):
            return self.bulk_select(op)
        if action not in self.get_bulk_actions():
            return HttpResponse(_("Unknown bulk action."), status=400)
        if not self.has_bulk_permission(action):
            raise PermissionDenied(_("You may not run this bulk action."))
        if op == "action":
            return self.bulk_step(action)
        if op == "run":
            return self.bulk_run(action)
        return HttpResponse(_("Unknown bulk request."), status=400)

    def bulk_select(self, op: str) -> HttpResponse:
        model = self.get_bulk_model()
        posted = [
            *self.request.POST.getlist("bulk_page"),
            *(
                [self.request.POST["bulk_pk"]]
                if op == "toggle" and "bulk_pk" in self.request.POST
                else []
            ),
        ]
        if invalid_pks(model, posted):
            # Refused before the selection is touched: the session stays as it was.
            return HttpResponse(_("The selection names a row that does not exist."), status=400)
        selection = self.get_bulk_selection()
        page_pks = [str(pk) for pk in clean_pks(model, self.request.POST.getlist("bulk_page"))]
        error = ""
        try:
            if op == "toggle":
                pks = [str(pk) for pk in clean_pks(model, [self.request.POST.get("bulk_pk")])]
                selection.set(pks, bool(self.request.POST.get("bulk_checked")))
            elif op == "page":
                selection.set(page_pks, bool(self.request.POST.get("bulk_checked")))
            elif op == "all":
                selection.select_all()
            else:
                selection.clear()
        except SelectionTooLarge as exc:
            error = str(exc)
        selection.save()
        if not getattr(self.request, "htmx", False):
            return HttpResponseRedirect(self.request.get_full_path())
        return self.render_bulk_bar(selection, page_pks, error=error, rows=op != "toggle")

    def render_bulk_bar(
        self,
        selection: Selection,
        page_pks: list[str],
        *,
        error: str = "",
        oob: bool = False,
        rows: bool = True,
    ) -> HttpResponse:
        """The action bar, plus out-of-band updates of the page's checkboxes."""
        bulk = self.get_bulk_context(selection, page_pks)
        context = {"bulk": bulk, "bulk_error": error, "oob": oob}
        html = bulk["action_bar_template"].render(context, self.request)
        html += render_to_string(
            "bulkops/partials/checkboxes_oob.html", {"bulk": bulk, "rows": rows}, self.request
        )
        return HttpResponse(html)

    def get_bulk_step(
        self, action: str, queryset: models.QuerySet[Any] | None = None
    ) -> tuple[Operation, Step]:
        """The operation of ``action`` and what its step knows about this view."""
        step = Step(
            model=self.get_bulk_model(),
            queryset=queryset if queryset is not None else self.get_bulk_queryset(),
            user=self.request.user,
            options=self.get_bulk_options(action),
        )
        return get_operation(action)(), step

    def bulk_step(self, action: str, form: Any = None) -> HttpResponse:
        """The step before running, as the operation declares it: a form, a confirmation."""
        operation, step = self.get_bulk_step(action)
        count = step.queryset.count()
        if not count:
            return self.render_bulk_panel("message", {"message": _("Select some rows first.")})
        form = form or operation.get_form(step)
        confirmation = operation.get_confirmation(step)
        if form is None and confirmation is None:
            return self.bulk_run(action)
        context: dict[str, Any] = {
            "action": action,
            "label": get_operation(action).label or action,
            "count": count,
            "url": self.request.get_full_path(),
            "verbose_name": self.get_bulk_model()._meta.verbose_name,
            "verbose_name_plural": self.get_bulk_model()._meta.verbose_name_plural,
            "form": form,
            "confirmation": confirmation,
        }
        if confirmation is not None:
            # The name the delete template has always used.
            context["summary"] = {
                "deleted": confirmation.counts,
                "blocked": confirmation.warning_counts,
            }
        return self.render_bulk_panel(operation.step_template or "confirm", context)

    def bulk_run(self, action: str) -> HttpResponse:
        operation, step = self.get_bulk_step(action)
        params: dict[str, Any] = {}
        form = operation.get_form(step, self.request.POST)
        if form is not None:
            if not form.is_valid():
                return self.bulk_step(action, form=form)
            params = operation.params_from_form(form, step)
        selection = self.get_bulk_selection()
        queryset = self.get_bulk_queryset(selection)
        try:
            task = self.submit_bulk_action(action, queryset, params)
        except NothingSelected as exc:
            # A stale form or a selection cleared in another tab. htmx swaps only 2xx
            # answers, so the panel says it there; a plain POST gets a 400 page.
            status = 200 if getattr(self.request, "htmx", False) else 400
            return self.render_bulk_panel("message", {"message": str(exc)}, status=status)
        except TaskConflict as exc:
            return self.render_bulk_panel("message", {"message": str(exc), "task": exc.task})
        except ValidationError as exc:
            if form is not None and hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                return self.bulk_step(action, form=form)
            return self.render_bulk_panel("message", {"message": " ".join(exc.messages)})
        selection.clear()
        selection.save()
        if not getattr(self.request, "htmx", False):
            messages.info(self.request, _("Started: %(task)s") % {"task": task})
            return HttpResponseRedirect(task.get_absolute_url())
        task.refresh_from_db()
        response = self.render_bulk_panel("started", progress_context(task))
        page_pks = [str(pk) for pk in self.request.POST.getlist("bulk_page")]
        bar = self.render_bulk_bar(selection, page_pks, oob=True)
        response.content += bar.content
        return response

    # Shared with the JSON API (bulkops.jsonapi.actions): one rule set for both surfaces

    def clean_bulk_params(
        self, action: str, data: dict[str, Any], queryset: models.QuerySet[Any] | None = None
    ) -> dict[str, Any]:
        """Params sent without the page (the JSON API), checked by the operation's form."""
        operation, step = self.get_bulk_step(action, queryset)
        form = operation.get_form(step, operation.form_data(data, step))
        if form is None:
            return {}
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        return operation.params_from_form(form, step)

    def clean_bulk_update_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """The cleaned ``values`` of an update (kept for callers of 0.x)."""
        return dict(self.clean_bulk_params("update", values)["values"])

    def submit_bulk_action(
        self,
        action: str,
        queryset: models.QuerySet[Any],
        params: dict[str, Any] | None = None,
    ) -> BulkTask:
        """Start ``action`` on ``queryset`` (already inside ``get_queryset()``).

        The caller has checked ``has_bulk_permission(action)`` and cleaned ``params``
        with the operation's form (``clean_bulk_params``).
        """
        return api.submit(
            action,
            user=self.request.user,
            queryset=queryset,
            params={**self.get_bulk_params(action), **(params or {})},
            sync_threshold=self.get_bulk_sync_threshold(),
            check_permission=False,  # checked by the caller, with the view's own rules
            permission=self._bulk_permission_for(action),
            lock_scope=self.get_bulk_lock_scope(),
        )

    def render_bulk_panel(
        self, suffix: str, context: dict[str, Any], *, status: int = 200
    ) -> HttpResponse:
        template = select_template(self.get_bulk_template_names(suffix))
        context = {**context, "bulk_suffix": suffix}
        if getattr(self.request, "htmx", False):
            return HttpResponse(template.render(context, self.request), status=status)
        page = select_template(self.get_bulk_template_names("page"))
        context.update({"base_template": settings.BASE_TEMPLATE, "panel_template": template})
        return HttpResponse(page.render(context, self.request), status=status)
