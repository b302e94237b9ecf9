"""A project's own token authentication, plugged into BULKOPS["API_AUTHENTICATION"]."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.http import HttpRequest

SALT = "tests.api-token"


def make_token(user: Any) -> str:
    return signing.dumps(user.pk, salt=SALT)


def token(request: HttpRequest) -> Any:
    """``Authorization: Bearer <token>``; headers cannot be forged cross-site: no CSRF."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not value:
        return None
    try:
        pk = signing.loads(value, salt=SALT)
    except signing.BadSignature:
        return None
    return get_user_model()._default_manager.filter(pk=pk, is_active=True).first()
