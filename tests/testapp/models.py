from __future__ import annotations

from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    value = models.IntegerField(default=0)
    code = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return self.name


class SlowItem(models.Model):
    """Deleting one takes a millisecond (see signals), so a delete job can be interrupted."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name
