"""Bulk actions of the list views a project exposes (``BULKOPS["API_VIEWS"]``).

The API builds the project's own ``BulkMixin`` view for the request and asks it
everything: which actions exist, who may run them, which rows are in scope
(``get_queryset()`` and its filters), which fields an update may set, how. There is
no second copy of those rules here.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from bulkops import api
from bulkops.conf import settings
from bulkops.jsonapi.http import ApiError, api_view, from_validation_error, invalid, json_body
from bulkops.jsonapi.tasks import accepted
from bulkops.operations.steps import describe_form
from bulkops.registry import get_operation
from bulkops.views.mixins import BulkMixin
from bulkops.views.selection import Selection, SelectionTooLarge, filter_key


def exposed_views() -> dict[str, type[BulkMixin]]:
    views: dict[str, type[BulkMixin]] = {}
    for name, path in dict(settings.API_VIEWS).items():
        view_class = import_string(path) if isinstance(path, str) else path
        if not issubclass(view_class, BulkMixin):
            raise ImproperlyConfigured(
                f"BULKOPS['API_VIEWS'][{name!r}] must be a view using BulkMixin, "
                f"not {view_class!r}."
            )
        views[name] = view_class
    return views


def build_view(request: HttpRequest, name: str) -> BulkMixin:
    """The project's view, set up for this request as if its page had been asked."""
    view_class = exposed_views().get(name)
    if view_class is None:
        raise Http404
    view = view_class()
    view.setup(request)  # type: ignore[attr-defined]
    return view


def describe(request: HttpRequest, name: str, view: BulkMixin) -> dict[str, Any]:
    model = view.get_bulk_model()
    actions = []
    for action in view.get_bulk_actions():
        if not view.has_bulk_permission(action):
            continue
        entry: dict[str, Any] = {
            "name": action,
            "label": str(get_operation(action).label or action),
            "url": request.build_absolute_uri(
                reverse("bulkops:api-action-run", kwargs={"view": name, "action": action})
            ),
        }
        entry.update(describe_step(view, action))
        actions.append(entry)
    return {
        "name": name,
        "model": model._meta.label_lower,
        "verbose_name": str(model._meta.verbose_name),
        "verbose_name_plural": str(model._meta.verbose_name_plural),
        "actions": actions,
    }


def describe_step(view: BulkMixin, action: str) -> dict[str, Any]:
    """What the operation declares for its step: the params its form takes, the
    confirmation's text (counted on an empty selection: the numbers come at run time)."""
    operation, step = view.get_bulk_step(action, view.get_bulk_model()._default_manager.none())
    form = operation.get_form(step)
    described: dict[str, Any] = {}
    if form is not None:
        described["params_key"] = operation.api_params_key
        described["params"] = describe_form(form)
    fields = step.options.get("fields")
    if fields:
        described["fields"] = list(fields)
    return described


@api_view(("GET",))
def action_list(request: HttpRequest) -> JsonResponse:
    views = [describe(request, name, build_view(request, name)) for name in exposed_views()]
    operations = [
        {
            "name": name,
            "label": str(get_operation(name).label or name),
            "url": request.build_absolute_uri(
                reverse("bulkops:api-operation-run", kwargs={"name": name})
            ),
        }
        for name, permission in dict(settings.API_OPERATIONS).items()
        if api.may_run(request.user, get_operation(name)(), None, permission or None)
    ]
    return JsonResponse({"results": [v for v in views if v["actions"]], "operations": operations})


@api_view(("POST",))
def operation_run(request: HttpRequest, name: str) -> JsonResponse:
    """Start an operation listed in ``API_OPERATIONS`` with the JSON body's ``params``.

    ``submit()`` checks the declared permission (and keeps it on the task) and the
    operation's ``clean_params()`` validates the params, as for any other caller.
    """
    exposed = dict(settings.API_OPERATIONS)
    if name not in exposed:
        raise Http404
    body = json_body(request)
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise invalid({"params": [_("Must be an object.")]})
    try:
        task = api.submit(name, user=request.user, params=params, permission=exposed[name] or None)
    except ValidationError as exc:
        raise from_validation_error(exc, prefix="params.") from None
    task.refresh_from_db()  # a small job may already have run inline
    return accepted(request, task)


@api_view(("POST",))
def action_run(request: HttpRequest, view: str, action: str) -> JsonResponse:
    """Start ``action`` over the rows of ``ids`` (or every row matching the query string)."""
    bulk_view = build_view(request, view)
    if action not in bulk_view.get_bulk_actions():
        raise Http404
    if not bulk_view.has_bulk_permission(action):
        raise ApiError(403, "permission_denied", _("You may not run this bulk action."))
    body = json_body(request)
    selection = _selection(request, bulk_view, body)
    queryset = bulk_view.get_bulk_queryset(selection)
    # The operation's own form checks the params, as on the page ("values" for update).
    operation, step = bulk_view.get_bulk_step(action, queryset)
    params: dict[str, Any] = {}
    if operation.get_form(step) is not None:
        key = operation.api_params_key
        raw = body.get(key, {})
        if not isinstance(raw, dict):
            raise invalid({key: [_("Must be an object.")]})
        try:
            params = bulk_view.clean_bulk_params(action, raw, queryset)
        except ValidationError as exc:
            raise from_validation_error(exc, prefix=f"{key}.") from None
    # No row of the selection in the view's queryset: submit() raises NothingSelected,
    # which api_view answers as 400 "nothing_selected".
    task = bulk_view.submit_bulk_action(action, queryset, params)
    task.refresh_from_db()  # a small job may already have run inline
    return accepted(request, task)


def _selection(request: HttpRequest, view: BulkMixin, body: dict[str, Any]) -> Selection:
    """The rows asked for, as the page's selection; the view narrows it to its queryset."""
    ids = body.get("ids", [])
    all_matching = body.get("all_matching", False)
    exclude = body.get("exclude", [])
    errors: dict[str, list[str]] = {}
    if not isinstance(all_matching, bool):
        errors["all_matching"] = [_("Must be true or false.")]
    for key, value in (("ids", ids), ("exclude", exclude)):
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            errors[key] = [_("Must be a list of row ids.")]
    if not errors and not all_matching and not ids:
        errors["ids"] = [_("Give the ids of the rows, or all_matching: true.")]
    if errors:
        raise invalid(errors)
    # A throwaway session: the API's selection lives for one request.
    selection = Selection(
        {}, "api", filter_key(request.GET), max_ids=view.get_bulk_max_selected_ids()
    )
    try:
        if all_matching:
            selection.select_all()
            selection.set([str(pk) for pk in exclude], False)
        else:
            selection.set([str(pk) for pk in ids], True)
    except SelectionTooLarge as exc:
        raise invalid({"ids": [str(exc)]}) from None
    return selection
