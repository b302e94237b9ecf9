from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class CustomerFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label=_("Name contains"))
    city = django_filters.CharFilter(label=_("City"))
    country = django_filters.CharFilter(label=_("Country"))
    # django-filter's default widget offers "Unknown", which reads like a value of its own.
    active = django_filters.BooleanFilter(
        label=_("Active"),
        widget=forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = Customer
        fields = ["name", "city", "country", "active"]
