from __future__ import annotations

import django_filters

from customers.models import Customer


class CustomerFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    city = django_filters.CharFilter(label="City")
    country = django_filters.CharFilter(label="Country")

    class Meta:
        model = Customer
        fields = ["name", "city", "country", "active"]
