"""Tasks and row errors as JSON: the numbers stored on the row, and links to act on it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from bulkops.models import BulkTask, BulkTaskError

# Keys of ``BulkTask.result`` that hold storage names: the file is offered as a link.
PRIVATE_RESULT_KEYS = frozenset({"error_report"})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def task_links(request: HttpRequest | None, task: BulkTask) -> dict[str, str | None]:
    def url(name: str) -> str:
        path = reverse(f"bulkops:{name}", kwargs={"pk": task.pk})
        return request.build_absolute_uri(path) if request is not None else path

    finished = task.is_finished
    retryable = task.status in (BulkTask.Status.FAILED, BulkTask.Status.CANCELLED) or (
        task.is_stalled
    )
    return {
        "self": url("api-task"),
        "page": url("task-detail"),
        "events": url("api-task-events"),
        "errors": url("api-task-errors"),
        "error_report": url("api-task-error-report") if task.failed_count else None,
        "download": url("api-task-download") if task.result_file else None,
        "cancel": None if finished else url("api-task-cancel"),
        "retry": url("api-task-retry") if retryable else None,
        "retry_failed": (
            url("api-task-retry-failed")
            if finished and task.failed_count and task.query is not None and task.model
            else None
        ),
    }


def task_json(task: BulkTask, request: HttpRequest | None = None) -> dict[str, Any]:
    eta = task.eta
    elapsed = task.elapsed
    rate = task.rate
    return {
        "id": str(task.pk),
        "operation": task.operation,
        "label": str(task),
        "model": task.model,
        "status": task.status,
        "status_display": str(task.get_status_display()),
        "outcome": task.outcome,
        "outcome_display": str(task.get_outcome_display()) if task.outcome else "",
        "is_finished": task.is_finished,
        "cancel_requested": task.cancel_requested,
        "total": task.total,
        "processed": task.processed,
        "succeeded": task.succeeded_count,
        "failed": task.failed_count,
        "skipped": task.skipped_count,
        "percent": task.percent,
        # Rendered in the reader's language; the *_data keys keep the message id and
        # parameters for programs (empty for texts stored before they existed).
        "stage": task.get_stage_display(),
        "stage_data": task.stage_data or None,
        "message": task.get_message_display(),
        "message_data": task.message_data or None,
        "rate": round(rate, 3) if rate is not None else None,
        "eta_seconds": round(eta.total_seconds(), 1) if eta is not None else None,
        "elapsed_seconds": round(elapsed.total_seconds(), 1) if elapsed is not None else None,
        "created_at": _iso(task.created_at),
        "started_at": _iso(task.started_at),
        "finished_at": _iso(task.finished_at),
        "result": {k: v for k, v in (task.result or {}).items() if k not in PRIVATE_RESULT_KEYS},
        "links": task_links(request, task),
    }


def error_json(error: BulkTaskError) -> dict[str, Any]:
    return {
        "row": error.row,
        "ref": error.ref,
        "field": error.field,
        "message": error.get_message_display(),
        "message_data": error.message_data or None,
        "values": error.values or {},
    }
