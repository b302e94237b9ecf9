"""django-bulkops: bulk jobs in the background, with progress, cancel and row errors."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "cancel", "get_task", "operation", "retry", "retry_failed", "submit"]


def __getattr__(name: str) -> Any:
    # The public functions live in modules that import models; loading them lazily keeps
    # ``import bulkops`` safe before the app registry is ready (settings, celery.py).
    if name in {"submit", "get_task", "cancel", "retry", "retry_failed"}:
        from bulkops import api

        return getattr(api, name)
    if name == "operation":
        from bulkops.registry import operation

        return operation
    raise AttributeError(f"module 'bulkops' has no attribute {name!r}")
