"""A task's selection survives an upgrade, or its retry fails with the documented message."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from django.db.models import F, Q

import bulkops
from bulkops import runner, selection
from bulkops.exceptions import SelectionUnavailable
from bulkops.models import BulkTask
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db

# docs/upgrading.md quotes these words; a change here is a change there.
DOCUMENTED = "select the rows again and submit a new job to finish the work"


def test_the_message_is_the_one_documented() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "upgrading.md").read_text()
    assert DOCUMENTED in " ".join(page.replace("> ", " ").split())


def _submit(user: Any, queryset: Any, capture: Any) -> BulkTask:
    with capture(execute=True):
        return bulkops.submit(
            "update", user=user, queryset=queryset, params={"values": {"name": "done"}}
        )


def _fail_then_retry(task: BulkTask, capture: Any) -> BulkTask:
    """What a user does after an upgrade: the task had failed, they press Retry."""
    BulkTask.objects.filter(pk=task.pk).update(status=BulkTask.Status.FAILED)
    task.refresh_from_db()
    with capture(execute=True):
        bulkops.retry(task)  # ImmediateBackend: the retry runs here, through the runner
    task.refresh_from_db()
    return task


def _rename(node: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    if "children" in node:
        return {**node, "children": [_rename(child, old, new) for child in node["children"]]}
    return {**node, "field": new} if node["field"] == old else node


def test_a_filtered_selection_is_stored_as_json_and_survives_a_django_upgrade(
    items: list[Item], user: Any, dummy_backend: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    queryset = Item.objects.filter(Q(value__lt=5) | Q(name__in=["item 20", "item 21"]))
    task = _submit(user, queryset, django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.query is None, "no pickle when the filters can be described"
    assert task.selection["form"] == "filters"

    # The upgrade: the stamp now names another Django; the JSON form does not care.
    BulkTask.objects.filter(pk=task.pk).update(selection={**task.selection, "django": "5.0"})
    assert runner.run(task.pk) == "succeeded"
    assert sorted(Item.objects.filter(name="done").values_list("value", flat=True)) == [
        0, 1, 2, 3, 4, 20, 21,
    ]  # fmt: skip


def test_a_selection_over_a_renamed_field_fails_its_retry_with_the_documented_message(
    items: list[Item], user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SYNC_THRESHOLD": 0}
    task = _submit(user, Item.objects.filter(value__lt=3), django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.status == "succeeded"
    # A model change since the task was stored: its field ``value`` became ``amount``.
    filters = _rename(task.selection["filters"], "value", "amount")
    BulkTask.objects.filter(pk=task.pk).update(selection={**task.selection, "filters": filters})

    task = _fail_then_retry(task, django_capture_on_commit_callbacks)
    assert task.status == "failed"
    assert task.message.startswith("This task's selection of rows was saved by a model change")
    assert DOCUMENTED in task.message
    assert "Traceback" not in task.message


def test_a_pickled_selection_from_another_django_fails_its_retry_with_the_documented_message(
    items: list[Item], user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SYNC_THRESHOLD": 0}
    # An expression the JSON form cannot describe: the selection is pickled and stamped.
    task = _submit(user, Item.objects.filter(value__lt=F("id")), django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert task.selection["form"] == "pickle"
    assert task.selection["django"] == selection.django_feature_version()
    assert (task.status, task.succeeded_count) == ("succeeded", 25)

    # The upgrade: the pickle was written by a Django this server no longer runs.
    BulkTask.objects.filter(pk=task.pk).update(selection={**task.selection, "django": "5.1"})
    task = _fail_then_retry(task, django_capture_on_commit_callbacks)
    assert task.status == "failed"
    assert task.message.startswith("This task's selection of rows was saved by Django 5.1")
    assert DOCUMENTED in task.message
    # "Retry the failed rows" reads the same selection: refused with the same words
    # (the task page answers 409 with them).
    with pytest.raises(SelectionUnavailable, match=DOCUMENTED):
        bulkops.retry_failed(task, user=user)


def test_a_pickle_that_no_longer_loads_fails_its_retry_with_the_documented_message(
    items: list[Item], user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SYNC_THRESHOLD": 0}
    task = _submit(user, Item.objects.filter(value__lt=F("id")), django_capture_on_commit_callbacks)
    task.refresh_from_db()
    assert (task.status, task.succeeded_count) == ("succeeded", 25)
    # A task stored before selections were stamped, whose pickle names a class that the
    # new Django moved: exactly what an unannounced internal change does to a pickle.
    broken = pickle.dumps(Item.objects.filter(value__lt=F("id")).query).replace(
        b"django.db.models.sql.query", b"django.db.models.sql.qvery"
    )
    BulkTask.objects.filter(pk=task.pk).update(selection={}, query=broken)

    task = _fail_then_retry(task, django_capture_on_commit_callbacks)
    assert task.status == "failed"
    assert task.message.startswith("This task's selection of rows was saved by an earlier")
    assert DOCUMENTED in task.message
