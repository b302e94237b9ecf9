"""Task notes in Chromium: add, edit and delete through the HTMX forms, text escaped."""

from __future__ import annotations

from typing import Any

import pytest

from bulkops.models import BulkTask
from bulkops.notes import TaskNote
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_edit_and_delete_a_note(page: Any, live_server: Any, user: Any) -> None:
    task = BulkTask.objects.create(operation="update", owner=user, status="succeeded")
    log_in(page, live_server, user)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(task.get_absolute_url())

    box = page.locator(".bulkops-notes-box")
    assert box.get_attribute("open") is None  # collapsed while empty
    page.get_by_role("heading", name="Notes (0)").click()
    page.get_by_label("Add a note").fill("<img src=x onerror=alert(1)> check row 7")
    page.get_by_role("button", name="Add note").click()

    page.get_by_role("heading", name="Notes (1)").wait_for()
    note = TaskNote.objects.get()
    assert (note.author, note.text) == (user, "<img src=x onerror=alert(1)> check row 7")
    shown = page.locator(f"#bulkops-note-{note.pk} .bulkops-note-text")
    assert shown.inner_text() == "<img src=x onerror=alert(1)> check row 7"
    assert page.locator("#bulkops-notes img").count() == 0
    # A full page load shows it too, with the box open.
    page.reload()
    assert page.locator(".bulkops-notes-box").get_attribute("open") == ""

    page.locator(f"#bulkops-note-{note.pk} summary", has_text="Edit").click()
    page.get_by_label("Edit your note").fill("row 7 fixed by hand")
    page.get_by_role("button", name="Save").click()
    page.locator(".bulkops-note-text", has_text="row 7 fixed by hand").wait_for()
    page.get_by_text("edited").wait_for()
    note.refresh_from_db()
    assert note.text == "row 7 fixed by hand"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("heading", name="Notes (0)").wait_for()
    assert not TaskNote.objects.exists()
    page.get_by_text("No notes yet.").wait_for()
