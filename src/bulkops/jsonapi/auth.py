"""Who is calling: the API's authentication hooks (``BULKOPS["API_AUTHENTICATION"]``).

An authenticator is a callable ``(request) -> user | None``. The first one that
returns a user wins. One whose attribute ``enforce_csrf`` is true (the session one)
makes unsafe requests pass Django's CSRF check, as the pages do; a token sent in a
header cannot be forged by another site, so other authenticators skip it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string

from bulkops.conf import settings

Authenticator = Callable[[HttpRequest], Any]


def session(request: HttpRequest) -> Any:
    """The user of Django's session (``AuthenticationMiddleware``), if logged in."""
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


session.enforce_csrf = True  # type: ignore[attr-defined]


def rest_framework(request: HttpRequest) -> Any:
    """The user found by Django REST framework's ``DEFAULT_AUTHENTICATION_CLASSES``.

    For projects that already authenticate their API with DRF (tokens, JWT, ...).
    DRF's own ``SessionAuthentication`` is skipped: list ``session`` for sessions.
    """
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    drf_request = Request(request)
    for authenticator_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(authenticator_class, SessionAuthentication):
            continue
        try:
            found = authenticator_class().authenticate(drf_request)
        except AuthenticationFailed:
            return None  # wrong credentials: answered 401 like missing ones
        if found is not None:
            return found[0]
    return None


def authenticators() -> list[Authenticator]:
    return [
        import_string(path) if isinstance(path, str) else path
        for path in settings.API_AUTHENTICATION
    ]


def authenticate(request: HttpRequest) -> tuple[Any, bool]:
    """(user or None, whether CSRF applies to this request)."""
    for authenticator in authenticators():
        user = authenticator(request)
        if user is not None and user.is_authenticated:
            return user, bool(getattr(authenticator, "enforce_csrf", False))
    return None, False


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> Any:
        return reason


def _no_response(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the CSRF check never calls the view")


def csrf_failure(request: HttpRequest) -> str | None:
    """Django's CSRF check, run here because the API views are ``csrf_exempt``."""
    check = _CsrfCheck(_no_response)
    check.process_request(request)
    reason = check.process_view(request, _no_response, (), {})
    return reason if isinstance(reason, str) else None
