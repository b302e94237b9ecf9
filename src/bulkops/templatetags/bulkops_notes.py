"""``{% task_notes task as notes %}``: the task's notes, each marked ``mine`` for the viewer."""

from __future__ import annotations

from typing import Any

from django import template

from bulkops.notes import TaskNote

register = template.Library()


@register.simple_tag(takes_context=True)
def task_notes(context: template.Context, task: Any) -> list[TaskNote]:
    # context.request is there for any RequestContext, without the "request" processor.
    request = getattr(context, "request", None)
    user = getattr(request, "user", None)
    notes = list(task.notes.all())
    for note in notes:
        note.mine = note.may_change(user)  # type: ignore[attr-defined]
    return notes
