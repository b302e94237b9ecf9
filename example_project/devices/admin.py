from __future__ import annotations

from django.contrib import admin

from devices.models import Employee


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["badge", "full_name", "department", "card_number", "is_admin"]
    search_fields = ["badge", "full_name"]
