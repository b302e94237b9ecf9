"""Operations used by the tests, registered like a project registers its own."""

from __future__ import annotations

import time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F

from bulkops import operation
from bulkops.context import RunContext
from bulkops.operations.base import Operation
from bulkops.operations.steps import Confirmation, Step
from bulkops.registry import register
from tests.testapp.models import Item


@operation("tests.explode")
def explode(ctx: RunContext) -> dict[str, Any]:
    """Commits one chunk, then fails: the failure must be recorded and the chunk kept."""
    for batch in ctx.batches(ctx.queryset, size=10):
        with batch:
            Item.objects.filter(pk__in=batch.items).update(value=-1)
            batch.succeeded(len(batch))
        raise RuntimeError("the disk is full")
    return {}


@operation("tests.slow_update")
def slow_update(ctx: RunContext) -> dict[str, Any]:
    """A chunked update slow enough to be cancelled or killed in the middle."""
    delay = float(ctx.params.get("delay", 0.2))
    for batch in ctx.batches(ctx.queryset):
        with batch:
            n = Item.objects.filter(pk__in=batch.items).update(value=ctx.params.get("value", 1))
            batch.succeeded(n)
            time.sleep(delay)
    return {}


@operation("tests.bad_rows")
def bad_rows(ctx: RunContext) -> dict[str, Any]:
    """Fails every row whose value is odd, with a reason naming the row and field."""
    for batch in ctx.batches(list(Item.objects.order_by("pk").values_list("pk", "value"))):
        with batch:
            for offset, (pk, value) in enumerate(batch.items):
                if value % 2:
                    batch.error(
                        f"value {value} is odd",
                        row=batch.start + offset + 2,
                        ref=pk,
                        field="value",
                        values={"value": value},
                    )
                else:
                    batch.succeeded()
    return {}


@operation("tests.deactivate", label="Deactivate", permission="change")
def deactivate(ctx: RunContext) -> dict[str, Any]:
    """A project operation offered in a list view's action bar."""
    for batch in ctx.batches(ctx.queryset):
        with batch:
            batch.succeeded(
                ctx.queryset.model._base_manager.filter(pk__in=batch.items).update(active=False)
            )
    return {}


@operation("tests.noop")
def noop(ctx: RunContext) -> dict[str, Any]:
    """Does nothing: for measuring the time a backend takes to start a task."""
    return {}


@operation("tests.increment")
def increment(ctx: RunContext) -> dict[str, Any]:
    """Adds 1 to every row, slowly: a chunk applied twice shows up as a 2."""
    delay = float(ctx.params.get("delay", 0.05))
    for batch in ctx.batches(ctx.queryset):
        with batch:
            batch.succeeded(Item.objects.filter(pk__in=batch.items).update(value=F("value") + 1))
            time.sleep(delay)
    return {}


@operation("tests.row_work")
def row_work(ctx: RunContext) -> dict[str, Any]:
    """An update with some work per row inside the chunk's transaction (``row_seconds``),
    as per-row saves or signals would have: what the SQLite benchmark runs."""
    cost = float(ctx.params.get("row_seconds", 0.0002))
    for batch in ctx.batches(ctx.queryset):
        with batch:
            n = Item.objects.filter(pk__in=batch.items).update(value=F("value") + 1)
            time.sleep(cost * len(batch))
            batch.succeeded(n)
    return {}


@operation
class LongStage(Operation):
    """One stage that commits nothing for ``sleep`` seconds (a large workbook being read,
    a slow device), then one chunk; it holds the model's conflict lock throughout."""

    name = "tests.long_stage"
    requires_queryset = True
    locks_model = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        ctx.progress(stage="Reading the file", force=True)
        time.sleep(float(ctx.params.get("sleep", 3)))
        for batch in ctx.batches(ctx.queryset):
            with batch:
                batch.succeeded(Item.objects.filter(pk__in=batch.items).update(value=2))
        return {}


@register
class SyncOperation(Operation):
    """A job without rows to select, like an ERP sync: params, stages, counts in its result."""

    name = "tests.sync"
    label = "Sync"

    def clean_params(
        self, params: dict[str, Any], *, model: Any, queryset: Any, user: Any
    ) -> dict[str, Any]:
        if params.get("source") not in ("erp", "crm"):
            raise ValidationError({"source": "Choose erp or crm."})
        return {"source": params["source"], "records": int(params.get("records", 30))}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        ctx.set_total(ctx.params["records"])
        ctx.progress(stage=f"Reading {ctx.params['source']}", force=True)
        for batch in ctx.batches(range(ctx.params["records"]), size=10):
            with batch:
                batch.succeeded(len(batch))
        return {"created": ctx.params["records"] - 5, "updated": 5}


class RelocateForm(forms.Form):
    city = forms.CharField(label="New city", max_length=100)
    reason = forms.ChoiceField(
        label="Reason", choices=[("moved", "They moved"), ("merged", "Office merged")]
    )


@register
class Relocate(Operation):
    """A project's own operation that brings its step: a form and a confirmation.

    Declared once; the list view, the admin and the JSON API render both.
    """

    name = "tests.relocate"
    label = "Relocate"
    permission = "change"
    requires_queryset = True
    locks_model = True
    form_class = RelocateForm

    def get_confirmation(self, step: Step) -> Confirmation:
        from tests.testapp.models import Order

        orders = Order.objects.filter(customer__in=step.queryset.values("pk")).count()
        return Confirmation(
            counts=[("Customers", step.queryset.count()), ("Orders", orders)],
            warning="Their orders keep the city they were shipped to." if orders else "",
            button="Yes, relocate",
        )

    def clean_params(
        self, params: dict[str, Any], *, model: Any, queryset: Any, user: Any
    ) -> dict[str, Any]:
        if not str(params.get("city") or "").strip():
            raise ValidationError({"city": "Give the new city."})
        return {"city": params["city"].strip(), "reason": params.get("reason", "moved")}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        manager = ctx.queryset.model._base_manager
        for batch in ctx.batches(ctx.queryset):
            with batch:
                batch.succeeded(manager.filter(pk__in=batch.items).update(city=ctx.params["city"]))
        return {"reason": ctx.params["reason"]}


@register
class ShardedIncrement(Operation):
    """``tests.increment`` that declares itself shardable: each shard adds 1 to its rows."""

    name = "tests.sharded_increment"
    requires_queryset = True
    shardable = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        delay = float(ctx.params.get("delay", 0))
        for batch in ctx.batches(ctx.queryset):
            with batch:
                n = Item.objects.filter(pk__in=batch.items).update(value=F("value") + 1)
                batch.succeeded(n)
                time.sleep(delay)
        return {"incremented": ctx.task.succeeded_count}
