"""Add, edit and delete task notes from the task page (HTMX forms, plain POST fallback).

Who may do what: anyone who may see the task (``views.tasks._task_for``: 404 for
everyone else) reads and adds notes; only a note's author edits or deletes it (403).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from bulkops.models import BulkTask
from bulkops.notes import MAX_LENGTH, TaskNote
from bulkops.views.tasks import _task_for


class NoteForm(forms.ModelForm):  # type: ignore[type-arg]
    text = forms.CharField(
        label=_("Note"),
        max_length=MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = TaskNote
        fields = ["text"]


def _invalid(request: HttpRequest) -> int:
    # htmx swaps only 2xx answers by default: the form with its message must be shown.
    return 200 if getattr(request, "htmx", False) else 422


def render_notes(
    request: HttpRequest, task: BulkTask, form: NoteForm | None = None, status: int = 200
) -> HttpResponse:
    response = TemplateResponse(
        request,
        "bulkops/partials/notes.html",
        {"task": task, "note_form": form, "notes_open": True},
        status=status,
    )
    return response.render()


def _done(request: HttpRequest, task: BulkTask) -> HttpResponse:
    if getattr(request, "htmx", False):
        return render_notes(request, task)
    return redirect(task.get_absolute_url() + "#bulkops-notes")


@require_GET
def note_list(request: HttpRequest, pk: Any) -> HttpResponse:
    return render_notes(request, _task_for(request, pk))


@require_POST
def note_add(request: HttpRequest, pk: Any) -> HttpResponse:
    task = _task_for(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return render_notes(request, task, form, status=_invalid(request))
    note = form.save(commit=False)
    note.task = task
    note.author = request.user  # type: ignore[assignment]
    note.save()
    return _done(request, task)


def _own_note(request: HttpRequest, pk: Any, note_id: int) -> tuple[BulkTask, TaskNote]:
    task = _task_for(request, pk)
    note = get_object_or_404(TaskNote, pk=note_id, task=task)
    if not note.may_change(request.user):
        raise PermissionDenied(_("Only the author of a note may change it."))
    return task, note


@require_POST
def note_edit(request: HttpRequest, pk: Any, note_id: int) -> HttpResponse:
    task, note = _own_note(request, pk, note_id)
    form = NoteForm(request.POST, instance=note)
    if not form.is_valid():
        return render_notes(request, task, status=_invalid(request))
    note = form.save(commit=False)
    note.updated_at = timezone.now()
    note.save(update_fields=["text", "updated_at"])
    return _done(request, task)


@require_POST
def note_delete(request: HttpRequest, pk: Any, note_id: int) -> HttpResponse:
    task, note = _own_note(request, pk, note_id)
    note.delete()
    return _done(request, task)
