from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from bulkops.conf import settings

if TYPE_CHECKING:
    from bulkops.backends.base import BaseBackend


@lru_cache(maxsize=1)
def get_backend() -> BaseBackend:
    """The configured backend, built once and rebuilt when ``BULKOPS`` changes."""
    backend_class = import_string(settings.BACKEND)
    return backend_class(dict(settings.OPTIONS))


def reset_backend() -> None:
    get_backend.cache_clear()
