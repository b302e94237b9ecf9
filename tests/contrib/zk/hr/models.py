from __future__ import annotations

from django.db import models


class Employee(models.Model):
    badge = models.CharField(max_length=24, unique=True)
    full_name = models.CharField(max_length=100)
    card_number = models.PositiveBigIntegerField(null=True, blank=True)
    is_admin = models.BooleanField(default=False)
    pin = models.CharField(max_length=8, blank=True)
    department = models.CharField(max_length=7, blank=True)

    class Meta:
        app_label = "zk_hr"

    def __str__(self) -> str:
        return self.full_name
