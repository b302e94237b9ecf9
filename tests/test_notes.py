"""Task notes: who may read, add, edit and delete them, and how they are shown."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from bulkops.models import BulkTask
from bulkops.notes import TaskNote, notes_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(user: Any) -> BulkTask:
    return BulkTask.objects.create(operation="update", owner=user, status="succeeded")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, task: BulkTask, note: TaskNote | None = None) -> str:
    kwargs: dict[str, Any] = {"pk": task.pk}
    if note is not None:
        kwargs["note_id"] = note.pk
    return reverse(f"bulkops:{name}", kwargs=kwargs)


def test_owner_adds_a_note_and_sees_it_escaped_on_the_task_page(user: Any, task: BulkTask) -> None:
    client = client_for(user)
    page = client.get(task.get_absolute_url()).content.decode()
    # Collapsed while there are no notes.
    assert '<details class="bulkops-notes-box">' in page

    answer = client.post(
        url("task-note-add", task), {"text": "<b>check</b> row 7"}, HTTP_HX_REQUEST="true"
    )

    assert answer.status_code == 200
    note = TaskNote.objects.get()
    assert (note.task, note.author, note.text) == (task, user, "<b>check</b> row 7")
    page = client.get(task.get_absolute_url()).content.decode()
    assert "&lt;b&gt;check&lt;/b&gt; row 7" in page and "<b>check</b>" not in page
    assert '<details class="bulkops-notes-box" open>' in page
    assert notes_for(task)[0]["text"] == "<b>check</b> row 7"
    assert notes_for(task)[0]["author"] == "alice"


def test_blank_note_is_refused_with_a_message(user: Any, task: BulkTask) -> None:
    answer = client_for(user).post(url("task-note-add", task), {"text": "   "})
    assert answer.status_code == 422
    assert "This field is required." in answer.content.decode()
    assert not TaskNote.objects.exists()


def test_author_edits_and_deletes_their_note(user: Any, task: BulkTask) -> None:
    note = TaskNote.objects.create(task=task, author=user, text="first")
    client = client_for(user)

    assert client.post(url("task-note-edit", task, note), {"text": "second"}).status_code == 302
    note.refresh_from_db()
    assert note.text == "second" and note.updated_at is not None

    assert client.post(url("task-note-delete", task, note)).status_code == 302
    assert not TaskNote.objects.exists()


def test_someone_elses_note_cannot_be_edited_or_deleted(
    user: Any, other_user: Any, task: BulkTask
) -> None:
    # other_user may see every task, so only the note's authorship stops them.
    other_user.user_permissions.add(Permission.objects.get(codename="view_all_tasks"))
    note = TaskNote.objects.create(task=task, author=user, text="mine")
    client = client_for(other_user)

    page = client.get(task.get_absolute_url()).content.decode()
    assert "mine" in page and url("task-note-edit", task, note) not in page
    assert client.post(url("task-note-edit", task, note), {"text": "hacked"}).status_code == 403
    assert client.post(url("task-note-delete", task, note)).status_code == 403
    note.refresh_from_db()
    assert note.text == "mine"
    # They may still add their own.
    assert client.post(url("task-note-add", task), {"text": "seen"}).status_code == 302


def test_user_without_access_to_the_task_gets_404_everywhere(
    user: Any, other_user: Any, task: BulkTask
) -> None:
    note = TaskNote.objects.create(task=task, author=user, text="private")
    client = client_for(other_user)

    assert client.get(url("task-notes", task)).status_code == 404
    assert client.post(url("task-note-add", task), {"text": "x"}).status_code == 404
    assert client.post(url("task-note-edit", task, note), {"text": "x"}).status_code == 404
    assert client.post(url("task-note-delete", task, note)).status_code == 404
    assert TaskNote.objects.get().text == "private"


def test_note_of_another_task_is_not_found_through_this_one(user: Any, task: BulkTask) -> None:
    elsewhere = BulkTask.objects.create(operation="update", owner=user)
    note = TaskNote.objects.create(task=elsewhere, author=user, text="there")
    answer = client_for(user).post(url("task-note-delete", task, note))
    assert answer.status_code == 404
    assert TaskNote.objects.filter(pk=note.pk).exists()


def test_forms_need_the_csrf_token(user: Any, task: BulkTask) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(url("task-note-add", task), {"text": "x"}).status_code == 403
    assert not TaskNote.objects.exists()
