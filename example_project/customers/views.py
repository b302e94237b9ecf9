from __future__ import annotations

from io import BytesIO

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_filters.views import FilterView
from openpyxl import Workbook

from bulkops.views import BulkMixin
from customers.filters import CustomerFilter
from customers.models import Customer


class CustomerList(LoginRequiredMixin, BulkMixin, FilterView):  # type: ignore[misc,type-arg]
    model = Customer
    filterset_class = CustomerFilter
    paginate_by = 25
    template_name = "customers/customer_list.html"

    bulk_actions = ["delete", "update", "customers.deactivate", "customers.relocate", "export"]
    bulk_update_fields = ["city", "country", "active"]


@login_required
def sample_workbook(request: HttpRequest) -> HttpResponse:
    """7,000 new customers, five of them wrong, to try the import pages with."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Customers")
    sheet.append(["Name", "E-mail", "City", "Country", "Active"])
    bad = {
        11: ("email", "not-an-email"),
        1_500: ("country", "PERU"),
        3_333: ("name", ""),
        5_000: ("active", "maybe"),
        6_999: ("name", "x" * 120),
    }
    stamp = timezone.now().strftime("%H%M%S")
    for n in range(7_000):
        row = {
            "name": f"Imported {n:04d}",
            "email": f"import{stamp}-{n}@example.org",
            "city": "Arequipa",
            "country": "PE",
            "active": "yes",
        }
        if n in bad:
            field, value = bad[n]
            row[field] = value
        sheet.append(list(row.values()))
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="customers-sample.xlsx"'
    return response
