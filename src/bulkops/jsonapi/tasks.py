"""Task endpoints: list, detail, row errors, cancel, retry, retry failed rows, files."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from bulkops import api
from bulkops.jsonapi.http import ApiError, api_view, invalid, paginate
from bulkops.jsonapi.serialize import error_json, task_json
from bulkops.models import BulkTask
from bulkops.tabular import neutralize
from bulkops.views.tasks import _task_for


@api_view(("GET",))
def task_list(request: HttpRequest) -> JsonResponse:
    """The caller's tasks, newest first (every user's with ``?all=1`` and the permission)."""
    queryset = BulkTask.objects.visible_to(request.user).select_related("owner")
    if request.GET.get("all") not in ("1", "true"):
        queryset = queryset.filter(owner=request.user.pk)
    errors: dict[str, list[str]] = {}
    status = request.GET.get("status")
    if status:
        if status not in BulkTask.Status.values:
            errors["status"] = [_("Choose one of %s.") % ", ".join(BulkTask.Status.values)]
        queryset = queryset.filter(status=status)
    outcome = request.GET.get("outcome")
    if outcome:
        if outcome not in BulkTask.Outcome.values:
            errors["outcome"] = [_("Choose one of %s.") % ", ".join(BulkTask.Outcome.values)]
        else:
            queryset = queryset.filter(outcome=outcome)
    if operation := request.GET.get("operation"):
        queryset = queryset.filter(operation=operation)
    if errors:
        raise invalid(errors)
    return JsonResponse(paginate(request, queryset, lambda task: task_json(task, request)))


def _visible(request: HttpRequest, pk: Any) -> BulkTask:
    # The pages' rule, shared: owner or view_all_tasks, 404 for everyone else.
    return _task_for(request, pk)


@api_view(("GET",))
def task_detail(request: HttpRequest, pk: Any) -> JsonResponse:
    task = _visible(request, pk)
    # Like the status partial, a poll notices a dead worker and ends the task as stalled.
    if task.is_stalled and api.mark_stalled(task):
        task.refresh_from_db()
    return JsonResponse(task_json(task, request))


@api_view(("GET",))
def task_errors(request: HttpRequest, pk: Any) -> JsonResponse:
    task = _visible(request, pk)
    return JsonResponse(paginate(request, task.errors.all(), error_json, default_size=50))


@api_view(("POST",))
def task_cancel(request: HttpRequest, pk: Any) -> JsonResponse:
    task = _visible(request, pk)
    if not api.cancel(task):
        raise ApiError(409, "finished", _("This task has already finished."))
    task.refresh_from_db()
    return JsonResponse(task_json(task, request))


@api_view(("POST",))
def task_retry(request: HttpRequest, pk: Any) -> JsonResponse:
    task = _visible(request, pk)
    try:
        api.retry(task)
    except ValueError:
        raise ApiError(
            409, "not_retryable", _("Only a failed, cancelled or stalled task can be retried.")
        ) from None
    task.refresh_from_db()
    return JsonResponse(task_json(task, request), status=202)


@api_view(("POST",))
def task_retry_failed(request: HttpRequest, pk: Any) -> JsonResponse:
    task = _visible(request, pk)
    try:
        retry = api.retry_failed(task, user=request.user)
    except ValueError as exc:
        raise ApiError(409, "not_retryable", str(exc)) from None
    retry.refresh_from_db()
    return accepted(request, retry)


def accepted(request: HttpRequest, task: BulkTask) -> JsonResponse:
    """202 with the new task and its URL in ``Location``."""
    response = JsonResponse(task_json(task, request), status=202)
    response["Location"] = task_json(task, request)["links"]["self"]
    return response


@api_view(("GET",))
def task_download(request: HttpRequest, pk: Any) -> FileResponse:
    task = _visible(request, pk)
    if not task.result_file:
        raise Http404
    name = (task.result_file.name or "").rsplit("/", 1)[-1]
    return FileResponse(task.result_file.open("rb"), as_attachment=True, filename=name)


@api_view(("GET",))
def task_error_report(request: HttpRequest, pk: Any) -> HttpResponse:
    """Every recorded row error as CSV (row, field, message, original values)."""
    task = _visible(request, pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Reference"), _("Field"), _("Message"), _("Original values")])
    for error in task.errors.all().iterator(chunk_size=2000):
        values = json.dumps(error.values, ensure_ascii=False, default=str) if error.values else ""
        writer.writerow(
            [
                error.row if error.row is not None else "",
                neutralize(error.ref),
                neutralize(error.field),
                neutralize(error.get_message_display()),
                neutralize(values),
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="task-{task.pk}-errors.csv"'
    return response


def not_found(request: HttpRequest) -> JsonResponse:
    return ApiError(404, "not_found", _("Not found.")).response()
