from __future__ import annotations

import time
from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from tests.testapp.models import SlowItem


@receiver(pre_delete, sender=SlowItem)
def slow_down(sender: type[SlowItem], instance: SlowItem, **kwargs: Any) -> None:
    time.sleep(0.001)
