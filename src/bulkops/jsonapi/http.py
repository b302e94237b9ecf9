"""The API's plumbing: one decorator for authentication, CSRF, methods and JSON errors."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from bulkops.conf import settings
from bulkops.exceptions import NothingSelected, TaskConflict
from bulkops.jsonapi.auth import authenticate, csrf_failure

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_PAGE_SIZE = 100


class ApiError(Exception):
    """An answer other than success: status, stable code, message, per-field messages."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors = status, code, detail, errors

    def response(self) -> JsonResponse:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return JsonResponse(body, status=self.status)


def invalid(errors: dict[str, list[str]], detail: str = "") -> ApiError:
    return ApiError(400, "invalid", detail or _("The request has invalid fields."), errors)


def from_validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    if hasattr(exc, "error_dict"):
        errors = {
            (prefix + name if name != "__all__" else prefix.rstrip(".") or "non_field_errors"): [
                str(m) for m in ValidationError(messages).messages
            ]
            for name, messages in exc.error_dict.items()
        }
        return invalid(errors)
    return invalid({prefix.rstrip(".") or "non_field_errors": [str(m) for m in exc.messages]})


def api_view(methods: tuple[str, ...]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticate (hooks in auth.py), check CSRF for session writes, answer JSON errors.

    The wrapped view gets ``request.user`` set to the authenticated user.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise ApiError(405, "method_not_allowed", _("Use %s.") % " or ".join(methods))
                user, needs_csrf = authenticate(request)
                if user is None:
                    raise ApiError(401, "not_authenticated", _("Log in to use this API."))
                if needs_csrf and request.method not in SAFE_METHODS:
                    reason = csrf_failure(request)
                    if reason is not None:
                        raise ApiError(403, "csrf_failed", _("CSRF check failed: %s") % reason)
                request.user = user
                response: HttpResponse = view(request, *args, **kwargs)
            except ApiError as exc:
                response = exc.response()
            except Http404:
                response = ApiError(404, "not_found", _("Not found.")).response()
            except PermissionDenied as exc:
                detail = str(exc) or _("You may not do this.")
                response = ApiError(403, "permission_denied", detail).response()
            except TaskConflict as exc:
                response = ApiError(409, "conflict", str(exc)).response()
            except NothingSelected as exc:
                # submit() found no row to act on (the selection, or the rows were gone).
                detail = str(exc)
                response = ApiError(400, "nothing_selected", detail, {"ids": [detail]}).response()
            except ValidationError as exc:
                response = from_validation_error(exc).response()
            if request.method not in methods:
                response["Allow"] = ", ".join(methods)
            response.setdefault("Cache-Control", "no-store")
            return response

        return csrf_exempt(wrapper)

    return decorator


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object."""
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", _("The body must be a JSON object."))
    return data


def paginate(
    request: HttpRequest,
    queryset: models.QuerySet[Any],
    render: Callable[[Any], dict[str, Any]],
    default_size: int | None = None,
) -> dict[str, Any]:
    """One page: ``?page=`` (from 1) and ``?page_size=`` (at most 100)."""
    size = _positive_int(request, "page_size", default_size or settings.API_PAGE_SIZE)
    if size > MAX_PAGE_SIZE:
        raise invalid({"page_size": [_("At most %d.") % MAX_PAGE_SIZE]})
    paginator = Paginator(queryset, size)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except (EmptyPage, PageNotAnInteger):
        raise invalid({"page": [_("No such page.")]}) from None
    query = request.GET.copy()

    def link(number: int) -> str:
        query["page"] = str(number)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "next": link(page.next_page_number()) if page.has_next() else None,
        "previous": link(page.previous_page_number()) if page.has_previous() else None,
        "results": [render(obj) for obj in page.object_list],
    }


def _positive_int(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid({name: [_("Enter a whole number.")]}) from None
    if value < 1:
        raise invalid({name: [_("Enter a number of at least 1.")]})
    return value
