"""A project's own operation; the customer list offers it in its action bar."""

from __future__ import annotations

from typing import Any

import bulkops
from bulkops.context import RunContext


@bulkops.operation("customers.deactivate", label="Deactivate", permission="change")
def deactivate(ctx: RunContext) -> dict[str, Any]:
    manager = ctx.queryset.model._base_manager.using(ctx.db)
    for batch in ctx.batches(ctx.queryset):
        with batch:
            changed = manager.filter(pk__in=batch.items, active=True).update(active=False)
            batch.succeeded(changed)
            batch.skipped(len(batch) - changed)
    return {}
