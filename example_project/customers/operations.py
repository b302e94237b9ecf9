"""A project's own operation; the customer list offers it in its action bar."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

import bulkops
from bulkops.context import RunContext
from bulkops.operations.base import Operation
from bulkops.operations.steps import Confirmation, Step


@bulkops.operation("customers.deactivate", label=_("Deactivate"), permission="change")
def deactivate(ctx: RunContext) -> dict[str, Any]:
    manager = ctx.queryset.model._base_manager.using(ctx.db)
    for batch in ctx.batches(ctx.queryset):
        with batch:
            changed = manager.filter(pk__in=batch.items, active=True).update(active=False)
            batch.succeeded(changed)
            batch.skipped(len(batch) - changed)
    return {}


class RelocateForm(forms.Form):
    city = forms.CharField(label=_("New city"), max_length=100)


@bulkops.operation
class Relocate(Operation):
    """An operation that brings its own step: a form and a confirmation with counts.

    Declared once; the customer list, the admin and the JSON API all render it.
    """

    name = "customers.relocate"
    label = _("Relocate")
    permission = "change"
    requires_queryset = True
    locks_model = True
    form_class = RelocateForm

    def get_confirmation(self, step: Step) -> Confirmation:
        from customers.models import Order

        orders = Order.objects.filter(customer__in=step.queryset.values("pk")).count()
        return Confirmation(
            counts=[(_("Customers"), step.queryset.count()), (_("Orders"), orders)],
            warning=_("Their orders keep the city they were shipped to.") if orders else "",
            button=_("Yes, relocate"),
        )

    def run(self, ctx: RunContext) -> dict[str, Any]:
        manager = ctx.queryset.model._base_manager
        for batch in ctx.batches(ctx.queryset):
            with batch:
                batch.succeeded(manager.filter(pk__in=batch.items).update(city=ctx.params["city"]))
        return {}
