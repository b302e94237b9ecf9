"""Customers can be imported from a spreadsheet: bulkops serves the pages for them."""

from __future__ import annotations

from bulkops.tabular.definition import ImportDefinition, register_import
from customers.models import Customer


@register_import
class CustomerImport(ImportDefinition):
    model = Customer
    fields = ["name", "email", "city", "country", "active"]
    key_fields = ["email"]
