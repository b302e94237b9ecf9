from __future__ import annotations

from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    value = models.IntegerField(default=0)
    code = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(unique=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    # PROTECT: a customer with orders cannot be deleted; bulk delete reports them.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    total = models.IntegerField(default=0)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Order #{self.pk}"


class Note(models.Model):
    # CASCADE: deleted with their customer.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    text = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.text


class Invoice(models.Model):
    # RESTRICT: blocks the delete unless the invoice goes too, through a cascade.
    customer = models.ForeignKey(Customer, on_delete=models.RESTRICT, related_name="invoices")
    number = models.CharField(max_length=20)

    def __str__(self) -> str:
        return self.number


class SlowItem(models.Model):
    """Deleting one takes a millisecond (see signals), so a delete job can be interrupted."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Reminder(models.Model):
    # PROTECT one level down: a customer is blocked through its cascaded note.
    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="reminders")

    def __str__(self) -> str:
        return f"Reminder #{self.pk}"


class Visit(models.Model):
    # SET_NULL: kept, without its customer, when the customer is deleted.
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, related_name="visits"
    )
    place = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"Visit #{self.pk}"


class VipCustomer(Customer):
    """Multi-table inheritance: deleting the parent row deletes this child row too."""

    tier = models.CharField(max_length=20, blank=True)
