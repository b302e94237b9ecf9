"""Views: the task pages and endpoints (``tasks``), and the list-view mixin (``mixins``)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # BulkMixin lives in its own module so that importing the task views stays light.
    if name == "BulkMixin":
        from bulkops.views.mixins import BulkMixin

        return BulkMixin
    raise AttributeError(f"module 'bulkops.views' has no attribute {name!r}")
