from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bulkops.operations.base import Operation
from bulkops.registry import register

if TYPE_CHECKING:
    from bulkops.context import RunContext


@register
class DeleteOperation(Operation):
    """Delete the selected rows chunk by chunk, with Django's cascade rules."""

    name = "delete"
    label = "Delete"
    requires_queryset = True
    permission = "delete"
    locks_model = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        model = ctx.queryset.model
        manager = model._base_manager.using(ctx.db)
        deleted_per_model: dict[str, int] = {}
        for batch in ctx.batches(ctx.queryset):
            with batch:
                _, per_model = manager.filter(pk__in=batch.items).delete()
                for label, count in per_model.items():
                    deleted_per_model[label] = deleted_per_model.get(label, 0) + count
                own = per_model.get(model._meta.label, 0)
                batch.succeeded(own)
                batch.skipped(len(batch) - own)
        return {"deleted": deleted_per_model}
