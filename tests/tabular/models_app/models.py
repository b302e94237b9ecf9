from __future__ import annotations

from django.db import models


class Country(models.Model):
    code = models.CharField(max_length=2, unique=True)
    name = models.CharField(max_length=80)

    class Meta:
        app_label = "tabular_models"
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "On hold"

    name = models.CharField(max_length=100)
    email = models.EmailField("e-mail address", unique=True)
    phone = models.CharField(max_length=20, blank=True)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, null=True, blank=True)
    joined = models.DateField(null=True, blank=True)
    balance = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    active = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    visits = models.PositiveIntegerField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "tabular_models"

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """No unique field: a re-run of a create import would duplicate rows."""

    title = models.CharField(max_length=100)
    seats = models.PositiveSmallIntegerField(default=1)

    class Meta:
        app_label = "tabular_models"
        constraints = [
            # Not checked by field validation: only the database refuses a row.
            models.CheckConstraint(condition=models.Q(seats__lte=500), name="ticket_seats_lte_500"),
        ]

    def __str__(self) -> str:
        return self.title


class Product(models.Model):
    """Keys of several kinds: text (sku), a signed number, a second unique value, a FK."""

    sku = models.CharField("SKU", max_length=20, unique=True)
    number = models.IntegerField(unique=True, null=True, blank=True)
    barcode = models.CharField(max_length=20, unique=True, null=True, blank=True)
    name = models.CharField(max_length=100)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, null=True, blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)

    class Meta:
        app_label = "tabular_models"

    def __str__(self) -> str:
        return self.sku
