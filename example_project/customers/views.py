from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django_filters.views import FilterView

from bulkops.views import BulkMixin
from customers.filters import CustomerFilter
from customers.models import Customer


class CustomerList(LoginRequiredMixin, BulkMixin, FilterView):  # type: ignore[misc,type-arg]
    model = Customer
    filterset_class = CustomerFilter
    paginate_by = 25
    template_name = "customers/customer_list.html"

    bulk_actions = ["delete", "update", "customers.deactivate"]
    bulk_update_fields = ["city", "country", "active"]
