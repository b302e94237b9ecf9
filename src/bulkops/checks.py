from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from django.core import checks
from django.utils.module_loading import import_string

from bulkops.conf import DEFAULTS, settings
from bulkops.sensitive import unknown_settings_entries
from bulkops.sqlite_check import check_sqlite

_EXTRAS = {"celery": "celery", "django_q": "django-q2", "django_tasks": "tasks", "zk": "zk"}


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> Iterable[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    user = getattr(django_settings, "BULKOPS", {})
    if not isinstance(user, dict):
        return [checks.Error("BULKOPS must be a dict.", id="bulkops.E001")]
    for name in sorted(set(user) - set(DEFAULTS)):
        messages.append(
            checks.Warning(
                f"BULKOPS has an unknown key {name!r}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="bulkops.W001",
            )
        )
    for name in ("SYNC_THRESHOLD", "CHUNK_SIZE", "MAX_ERRORS"):
        value = getattr(settings, name)
        if not isinstance(value, int) or value < (0 if name == "SYNC_THRESHOLD" else 1):
            messages.append(
                checks.Error(f"BULKOPS[{name!r}] must be a positive integer.", id="bulkops.E005")
            )
    # Seconds; a fraction is fine (tests run workers with a timeout of 1.5 s).
    timeout = settings.HEARTBEAT_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        messages.append(
            checks.Error(
                "BULKOPS['HEARTBEAT_TIMEOUT'] must be a positive number of seconds.",
                id="bulkops.E005",
            )
        )
    for entry, problem in unknown_settings_entries():
        # A typo here would leave the field in every export: say so at start-up.
        messages.append(
            checks.Warning(
                f"BULKOPS['SENSITIVE_FIELDS'] entry {entry!r} marks nothing: {problem}.",
                id="bulkops.W006",
            )
        )
    try:
        backend_class = import_string(settings.BACKEND)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        extra = _EXTRAS.get(missing.split(".")[0], "")
        hint = f"pip install 'django-bulkops[{extra}]'" if extra else "Check the dotted path."
        return [
            *messages,
            checks.Error(
                f"BULKOPS['BACKEND'] {settings.BACKEND!r} cannot be imported: {exc}.",
                hint=hint,
                id="bulkops.E002",
            ),
        ]
    messages.extend(backend_class(dict(settings.OPTIONS)).check())
    messages.extend(check_sqlite(django_settings.DATABASES))
    if not apps.is_installed("django_htmx"):
        messages.append(
            checks.Warning(
                "bulkops' progress partials use django-htmx: add 'django_htmx' to "
                "INSTALLED_APPS and 'django_htmx.middleware.HtmxMiddleware' to MIDDLEWARE.",
                id="bulkops.W003",
            )
        )
    return messages


@checks.register()
def check_api_settings(app_configs: Any = None, **kwargs: Any) -> Iterable[checks.CheckMessage]:
    """The JSON API's exposed views and authenticators import and have the right shape."""
    from bulkops.views.mixins import BulkMixin

    messages: list[checks.CheckMessage] = []
    views = settings.API_VIEWS
    if not isinstance(views, dict):
        return [checks.Error("BULKOPS['API_VIEWS'] must be a dict.", id="bulkops.E020")]
    for name, path in views.items():
        try:
            view = import_string(path) if isinstance(path, str) else path
        except ImportError as exc:
            messages.append(
                checks.Error(
                    f"BULKOPS['API_VIEWS'][{name!r}] cannot be imported: {exc}.",
                    id="bulkops.E021",
                )
            )
            continue
        if not (isinstance(view, type) and issubclass(view, BulkMixin)):
            messages.append(
                checks.Error(
                    f"BULKOPS['API_VIEWS'][{name!r}] must be a list view using BulkMixin.",
                    id="bulkops.E021",
                )
            )
    from bulkops.exceptions import UnknownOperation
    from bulkops.registry import get_operation

    for name in dict(settings.API_OPERATIONS):
        try:
            operation = get_operation(name)
        except UnknownOperation:
            messages.append(
                checks.Error(
                    f"BULKOPS['API_OPERATIONS'] names {name!r}, which is not a registered "
                    "operation.",
                    id="bulkops.E023",
                )
            )
            continue
        if operation.requires_queryset:
            messages.append(
                checks.Error(
                    f"BULKOPS['API_OPERATIONS'][{name!r}] needs a selection of rows.",
                    hint="Expose it through a list view in BULKOPS['API_VIEWS'] instead.",
                    id="bulkops.E023",
                )
            )
    for path in settings.API_AUTHENTICATION:
        try:
            authenticator = import_string(path) if isinstance(path, str) else path
        except ImportError as exc:
            messages.append(
                checks.Error(
                    f"BULKOPS['API_AUTHENTICATION'] entry {path!r} cannot be imported: {exc}.",
                    id="bulkops.E022",
                )
            )
            continue
        if not callable(authenticator):
            messages.append(
                checks.Error(
                    f"BULKOPS['API_AUTHENTICATION'] entry {path!r} is not callable.",
                    id="bulkops.E022",
                )
            )
    return messages
