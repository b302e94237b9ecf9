"""Who may see a task, and the names of model permissions: written once, used everywhere.

The pages, the admin, the JSON API and the file downloads all ask these functions,
so no surface has a visibility rule of its own (see docs/security.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_permission_codename
from django.db import models

from bulkops.types import UserLike

if TYPE_CHECKING:
    from bulkops.models import BulkTask

VIEW_ALL_TASKS = "bulkops.view_all_tasks"
"""The permission that lets a user see, poll, cancel and download every user's tasks."""


def model_permission(model: type[models.Model], action: str) -> str:
    """``"app_label.<action>_<model_name>"`` as ``user.has_perm()`` takes it."""
    opts = model._meta
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


def has_model_permission(user: UserLike, model: type[models.Model], *actions: str) -> bool:
    """Whether ``user`` holds the model permission of at least one of ``actions``."""
    return any(user.has_perm(model_permission(model, action)) for action in actions)


def sees_all_tasks(user: UserLike | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_perm(VIEW_ALL_TASKS))


def may_see_task(user: UserLike | None, task: BulkTask) -> bool:
    """The one rule: the task's owner, or a user with ``bulkops.view_all_tasks``."""
    if user is None or not user.is_authenticated:
        return False
    # The owner is the common case on every poll: answer it without loading permissions.
    return task.owner_id == user.pk or sees_all_tasks(user)
