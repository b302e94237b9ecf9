"""List views the tests drive, each combining BulkMixin with a list view like a project."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.generic import ListView
from django_filters.views import FilterView

from bulkops.views import BulkMixin
from tests.testapp.models import Customer


class CustomerList(LoginRequiredMixin, BulkMixin, ListView):  # type: ignore[misc,type-arg]
    model = Customer
    paginate_by = 10
    bulk_actions = ["delete", "update", "tests.deactivate", "tests.relocate"]
    bulk_update_fields = ["city", "country", "active", "email"]


class CustomerFilter(django_filters.FilterSet):
    class Meta:
        model = Customer
        fields = ["city", "country", "active"]


class CustomerFilterList(LoginRequiredMixin, BulkMixin, FilterView):  # type: ignore[misc,type-arg]
    model = Customer
    filterset_class = CustomerFilter
    paginate_by = 10
    template_name = "testapp/customer_list.html"
    bulk_update_fields = ["city", "active"]
    bulk_sync_threshold = 0


class PortugueseCustomerList(CustomerList):
    """A view whose own queryset is narrower than the table: only these rows may be touched."""

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(country="PT")


class OpenCustomerList(BulkMixin, ListView):  # type: ignore[misc,type-arg]
    """A public page; permissions overridden: any logged-in user may update."""

    model = Customer
    paginate_by = 10
    template_name = "testapp/customer_list.html"
    bulk_update_fields = ["city"]
    bulk_permissions = {"update": None, "delete": "testapp.view_customer"}


class PerObjectCustomerList(CustomerList):
    bulk_update_mode = "objects"


def sse_progress(request: HttpRequest, pk: Any) -> HttpResponse:
    """A progress bar fed by the task's event stream through htmx's SSE extension."""
    return render(request, "testapp/sse_progress.html", {"pk": pk})


class CityCustomerList(CustomerList):
    """One "tenant" per city: its jobs lock the customers of that city only."""

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(city=self.kwargs["city"])

    def get_bulk_lock_scope(self) -> str | None:
        return f"city={self.kwargs['city']}"
