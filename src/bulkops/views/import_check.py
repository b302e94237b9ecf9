"""The preview's whole-file check: the dry run's counts, failing rows and row markers.

The dry run (an ``import`` task with ``dry_run``) has already put every row through the
import and stored each failing row with the import's own message. This page reads those
errors back, and marks one page of the file's rows with what the import will do: new,
changed (which fields), unchanged, or the error.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from bulkops import texts
from bulkops.conf import settings
from bulkops.models import BulkTask
from bulkops.operations.imports import bind_task, open_input
from bulkops.tabular import TableError, cell_text

PAGE_ROWS = 50
PAGE_ERRORS = 50


def _page_number(value: Any) -> int:
    try:
        return max(int(value), 1)
    except (TypeError, ValueError):
        return 1


def check_context(task: BulkTask, *, page: Any = 1, errors_page: Any = 1) -> dict[str, Any]:
    """What the check template shows for a finished (or still running) dry run."""
    context: dict[str, Any] = {
        "check": task,
        "poll_interval": settings.POLL_INTERVAL,
        "check_url": reverse("bulkops:import-check", kwargs={"pk": task.pk}),
    }
    if not task.is_finished:
        return context
    result = task.result or {}
    context["counts"] = {
        "created": int(result.get("created", 0)),
        "updated": int(result.get("updated", 0)),
        "unchanged": task.skipped_count,
        "failed": task.failed_count,
    }
    context["refused"] = bool(result.get("all_or_nothing_refused"))
    failures = Paginator(task.errors.exclude(row=None).order_by("row", "pk"), PAGE_ERRORS)
    context["failures"] = failures.get_page(_page_number(errors_page))
    context["unlisted"] = max(task.failed_count - failures.count, 0)
    if task.status != BulkTask.Status.SUCCEEDED:
        return context
    try:
        context.update(_rows_page(task, _page_number(page)))
    except (TableError, OSError) as exc:
        context["rows_problem"] = getattr(exc, "message", "") or _("The file cannot be read.")
    return context


def _rows_page(task: BulkTask, page: int) -> dict[str, Any]:
    total = task.processed
    pages = max((total + PAGE_ROWS - 1) // PAGE_ROWS, 1)
    page = min(page, pages)
    start = (page - 1) * PAGE_ROWS
    with open_input(task) as table:
        bound, writer = bind_task(task, table)
        try:
            rows = list(islice(table.rows(), start, start + PAGE_ROWS))
            numbers = [number for number, _values in rows]
            stored = {e.row: e for e in task.errors.filter(row__in=numbers).order_by("pk") if e.row}
            cleaned = bound.clean_chunk([r for r in rows if r[0] not in stored])
            good = [row for row in cleaned.rows if row.row not in cleaned.failed]
            marks = dict(zip([r.row for r in good], writer.classify(good), strict=True))
        finally:
            writer.close()
        headers = table.headers
    field_headers = {c.field.name: c.header for c in bound.columns}
    # Rows past MAX_ERRORS have no stored error; their cleaning errors are shown instead.
    fresh: dict[int, list[Any]] = {}
    for problem in cleaned.errors:
        fresh.setdefault(problem.row, []).append(problem)
    shown = []
    for number, values in rows:
        error = stored.get(number)
        kind, changed = ("error", []) if error else marks.get(number, ("error", []))
        if error is not None:
            reason = error.get_message_display()
            bad = {h.strip() for h in error.field.split(", ")} if error.field else set()
        else:
            found = fresh.get(number, [])
            reason = "\n".join(
                str(p.message)
                if len(found) == 1 or not p.column
                else str(
                    texts.gettext(
                        'Column "%(column)s": %(message)s', column=p.column, message=p.message
                    )
                )
                for p in found
            )
            bad = {p.column for p in fresh.get(number, []) if p.column}
        changed_headers = {field_headers.get(name, name) for name in changed}
        cells = [
            {
                "value": cell_text(value),
                "bad": header in bad,
                "changed": header in changed_headers,
            }
            for header, value in zip(headers, values, strict=False)
        ]
        shown.append(
            {
                "number": number,
                "kind": kind,
                "changed": [field_headers.get(name, name) for name in changed],
                "reason": reason,
                "cells": cells,
            }
        )
    return {
        "headers": headers,
        "rows": shown,
        "page": page,
        "pages": pages,
        "first_row": rows[0][0] if rows else 0,
        "last_row": rows[-1][0] if rows else 0,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page < pages else None,
    }


class ImportCheckView(LoginRequiredMixin, View):
    """The check partial of one dry run (paged), for its owner only."""

    def get(self, request: HttpRequest, pk: Any) -> HttpResponse:
        task = get_object_or_404(
            BulkTask.objects.visible_to(request.user), pk=pk, operation="import"
        )
        if not task.params.get("dry_run"):
            raise Http404("Not a check.")
        context = check_context(
            task, page=request.GET.get("page"), errors_page=request.GET.get("errors")
        )
        return TemplateResponse(request, "bulkops/import/check.html", context)
