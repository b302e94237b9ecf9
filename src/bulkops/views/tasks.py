from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import DetailView, ListView
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from bulkops import api
from bulkops.conf import settings
from bulkops.exceptions import TaskConflict
from bulkops.models import BulkTask
from bulkops.permissions import may_see_task

FINISHED_EVENT = "bulkops:finished"


def _task_for(request: HttpRequest, pk: Any) -> BulkTask:
    """The task if ``request.user`` may see it; 404 for everyone else, even its existence."""
    if not request.user.is_authenticated:
        raise Http404
    task = get_object_or_404(BulkTask, pk=pk)
    if not may_see_task(request.user, task):
        raise Http404
    return task


def progress_context(task: BulkTask) -> dict[str, Any]:
    return {
        "task": task,
        "poll_interval": settings.POLL_INTERVAL,
        "errors": task.errors.all()[:5] if task.failed_count else [],
    }


def render_progress(request: HttpRequest, task: BulkTask, *, focus: bool = False) -> HttpResponse:
    """The progress partial; once finished it tells htmx to stop polling and fires an event.

    ``focus`` answers a click inside the card (Cancel, Retry): the button is gone, so the
    new card takes the focus instead of leaving it on the page's body.
    """
    context = {**progress_context(task), "focus": focus}
    response: HttpResponse = TemplateResponse(
        request, "bulkops/partials/progress.html", context
    ).render()
    if task.is_finished:
        response = HttpResponseStopPolling(response.content)
        trigger_client_event(
            response,
            FINISHED_EVENT,
            {"id": str(task.pk), "status": task.status, "outcome": task.outcome},
        )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def task_status(request: HttpRequest, pk: Any) -> HttpResponse:
    task = _task_for(request, pk)
    # Polling is the automatic heartbeat check: a dead worker's task does not sit at
    # 63% forever, it ends as stalled and offers Retry.
    if task.is_stalled and api.mark_stalled(task):
        task.refresh_from_db()
    return render_progress(request, task)


@require_POST
def task_cancel(request: HttpRequest, pk: Any) -> HttpResponse:
    task = _task_for(request, pk)
    api.cancel(task)
    task.refresh_from_db()
    if getattr(request, "htmx", False):
        return render_progress(request, task, focus=True)
    return redirect(task)


@require_POST
def task_retry(request: HttpRequest, pk: Any) -> HttpResponse:
    task = _task_for(request, pk)
    try:
        api.retry(task)
    except ValueError:
        return HttpResponse(
            gettext("Only a failed, cancelled or stalled task can be retried."), status=409
        )
    except TaskConflict as exc:
        return HttpResponse(str(exc), status=409)
    task.refresh_from_db()
    if getattr(request, "htmx", False):
        return render_progress(request, task, focus=True)
    return redirect(task)


@require_POST
def task_retry_failed(request: HttpRequest, pk: Any) -> HttpResponse:
    """Start a new task over only the rows that failed in this one."""
    task = _task_for(request, pk)
    try:
        retry = api.retry_failed(task, user=request.user)
    except (ValueError, TaskConflict) as exc:
        return HttpResponse(str(exc), status=409)
    if getattr(request, "htmx", False):
        return render_progress(request, retry)
    return redirect(retry)


@require_GET
def task_download(request: HttpRequest, pk: Any) -> FileResponse:
    task = _task_for(request, pk)
    if not task.result_file:
        raise Http404("This task has no file.")
    name = (task.result_file.name or "").rsplit("/", 1)[-1]
    return FileResponse(task.result_file.open("rb"), as_attachment=True, filename=name)


class BaseTaskPage(LoginRequiredMixin):
    request: HttpRequest

    def get_queryset(self) -> Any:
        return BulkTask.objects.visible_to(self.request.user).select_related("owner")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["base_template"] = settings.BASE_TEMPLATE
        return context


class TaskListView(BaseTaskPage, ListView):  # type: ignore[misc]
    """History: the user's tasks, newest first, filterable by status, outcome and operation."""

    template_name = "bulkops/task_list.html"
    context_object_name = "tasks"
    paginate_by = 25

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if not self.request.GET.get("all"):
            queryset = queryset.filter(owner=self.request.user)
        status = self.request.GET.get("status")
        if status in BulkTask.Status.values:
            queryset = queryset.filter(status=status)
        outcome = self.request.GET.get("outcome")
        if outcome in BulkTask.Outcome.values:
            queryset = queryset.filter(outcome=outcome)
        if operation := self.request.GET.get("operation"):
            queryset = queryset.filter(operation=operation)
        return queryset

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["statuses"] = BulkTask.Status.choices
        context["outcomes"] = BulkTask.Outcome.choices
        context["current_outcome"] = self.request.GET.get("outcome", "")
        names = (
            BulkTask.objects.visible_to(self.request.user)
            .order_by()
            .values_list("operation", flat=True)
            .distinct()
        )
        context["operations"] = [
            (name, BulkTask(operation=name).get_operation_display()) for name in names
        ]
        context["current_status"] = self.request.GET.get("status", "")
        context["current_operation"] = self.request.GET.get("operation", "")
        return context


class TaskDetailView(BaseTaskPage, DetailView):  # type: ignore[misc]
    template_name = "bulkops/task_detail.html"
    context_object_name = "task"
    errors_per_page = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        paginator = Paginator(self.object.errors.all(), self.errors_per_page)
        context["errors_page"] = paginator.get_page(self.request.GET.get("page"))
        context.update({k: v for k, v in progress_context(self.object).items() if k != "errors"})
        return context
