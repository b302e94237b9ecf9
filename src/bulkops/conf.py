"""Settings, read from ``settings.BULKOPS`` on every access so ``override_settings`` works."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Dotted path of the backend class that moves a task id to a worker.
    "BACKEND": "bulkops.backends.immediate.ImmediateBackend",
    "OPTIONS": {},
    # Jobs with fewer rows than this run inline in the request, through the same runner.
    "SYNC_THRESHOLD": 100,
    "CHUNK_SIZE": 1000,
    # Except on SQLite, a chunk grows past CHUNK_SIZE (doubling, up to MAX_CHUNK_SIZE)
    # while one takes less than this many seconds, so commits stay a small part of the
    # work; 0 keeps CHUNK_SIZE. A chunk_size given with a job always stays as given.
    "CHUNK_SECONDS": 0.2,
    "MAX_CHUNK_SIZE": 10_000,
    # On SQLite (one writer at a time) a chunk takes as many rows as its write transaction
    # can apply in this many seconds, at most CHUNK_SIZE; 0 keeps the fixed row count.
    "SQLITE_CHUNK_SECONDS": 0.05,
    # Seconds a worker on SQLite sleeps after each chunk's commit, so a web request waiting
    # for the write lock gets it; 0 for none. See docs/deployment.md.
    "SQLITE_CHUNK_PAUSE": 0.005,
    # Seconds between two throttled progress writes (chunk commits always write).
    "PROGRESS_INTERVAL": 1.0,
    # A running task whose heartbeat is older than this is considered stalled.
    "HEARTBEAT_TIMEOUT": 120,
    # Seconds a job may run before it is stopped as failed; None means no limit.
    "TIME_LIMIT": None,
    # How often the progress partial polls, in seconds.
    "POLL_INTERVAL": 1,
    "RETENTION_DAYS": 30,
    "BASE_TEMPLATE": "bulkops/base.html",
    "UPLOAD_TO": "bulkops/uploads/%Y/%m/",
    "RESULTS_TO": "bulkops/results/%Y/%m/",
    "MAX_UPLOAD_SIZE": 50 * 1024 * 1024,
    "MAX_ROWS": 1_000_000,
    "MAX_COLUMNS": 200,
    # Bounds of the one parse of an upload (see docs/import-export.md, "Limits"): they
    # keep a hostile or oversized workbook to seconds and a few hundred MB.
    "MAX_CELLS": 3_000_000,
    "MAX_UNPACKED_SIZE": 256 * 1024 * 1024,
    "MAX_PART_SIZE": 128 * 1024 * 1024,
    # Sharding (docs/sharding.md): one job split into shards that several workers run at
    # once. Off unless enabled here, and only for operations that declare it; a job is
    # split only when each shard gets at least SHARD_MIN_ROWS rows, into at most SHARDS.
    "SHARDING": False,
    "SHARDS": 4,
    "SHARD_MIN_ROWS": 50_000,
    # How many row errors are kept per task; further failures are only counted.
    "MAX_ERRORS": 10_000,
    # Tell owners when their background task finishes (see docs/automation.md).
    "NOTIFY": False,
    # Dotted path of ``f(user) -> bool | None``: a user's own choice, None for the default.
    "NOTIFY_USER": None,
    # Channels: dotted paths of ``f(task, user)`` called for each notification.
    "NOTIFIERS": ["bulkops.notifications.email_owner"],
    "NOTIFY_FROM": None,
    # The site's base address ("https://intranet.example.com") for links in notifications.
    "SITE_URL": "",
    # "app_label.model.field" entries no export writes unless a definition names them;
    # password fields are left out without being listed (see docs/security.md).
    "SENSITIVE_FIELDS": [],
    # JSON API (docs/reference/json-api.md): list views whose bulk actions the API
    # exposes, name -> dotted path of a BulkMixin view; and the callables that find the
    # user of an API request (the session one, which also enforces CSRF, by default).
    "API_VIEWS": {},
    # Operations the API may start on their own (no list view, no selection): operation
    # name -> the permission that allows it ("app_label.codename", or "*" for anyone
    # logged in), as submit(permission=) takes it.
    "API_OPERATIONS": {},
    "API_AUTHENTICATION": ["bulkops.jsonapi.auth.session"],
    "API_PAGE_SIZE": 25,
    # Seconds between two reads of a task by the per-process poller behind the
    # server-sent-events streams (one read serves every watcher of the task).
    "STREAM_INTERVAL": 0.5,
    # Settings of the bulkops.contrib.zk app (see docs/zk.md); read by its own conf module.
    "ZK": {},
}


class Settings:
    """Attribute access to ``BULKOPS`` with defaults, looked up at call time."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown bulkops setting {name!r}")
        user = getattr(django_settings, "BULKOPS", None) or {}
        return user.get(name, DEFAULTS[name])

    def as_dict(self) -> dict[str, Any]:
        user = getattr(django_settings, "BULKOPS", None) or {}
        return {**DEFAULTS, **user}


settings = Settings()


@receiver(setting_changed)
def _reset_backend(*, setting: str, **kwargs: Any) -> None:
    if setting == "BULKOPS":
        from bulkops.backends import reset_backend

        reset_backend()
