from __future__ import annotations

from django.db import models


class Employee(models.Model):
    """The example project's own people; BULKOPS["ZK"] maps them to device users."""

    badge = models.CharField("badge number", max_length=24, unique=True)
    full_name = models.CharField(max_length=100)
    card_number = models.PositiveBigIntegerField(null=True, blank=True)
    is_admin = models.BooleanField("time clock admin", default=False)
    department = models.CharField(max_length=7, blank=True)

    class Meta:
        ordering = ["badge"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.badge})"
