from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand

# An ordinary user (not staff): logs in on the example's own page, works on customers.
CLERK_PERMISSIONS = ["view_customer", "add_customer", "change_customer", "delete_customer"]


class Command(BaseCommand):
    help = (
        "Create the demo users if they do not exist: demo / demo (superuser), clerk / "
        "clerk; and schedule the recovery of tasks whose worker died (django-q2)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username="demo").exists():
            user_model.objects.create_superuser("demo", "demo@example.com", "demo")
            self.stdout.write("Created the demo user: demo / demo")
        if not user_model.objects.filter(username="clerk").exists():
            clerk = user_model.objects.create_user("clerk", "clerk@example.com", "clerk")
            clerk.user_permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="customers", codename__in=CLERK_PERMISSIONS
                )
            )
            self.stdout.write("Created an ordinary user: clerk / clerk")
        if settings.BULKOPS["BACKEND"].endswith("DjangoQBackend"):
            self.schedule_recovery()

    def schedule_recovery(self) -> None:
        # Recovery runs unattended: a killed worker's task is resumed within a minute,
        # whether or not anybody has its page open (docs/backends.md, "Recovery").
        from django_q.models import Schedule

        Schedule.objects.update_or_create(
            name="bulkops_recover",
            defaults={
                "func": "django.core.management.call_command",
                "args": "'bulkops_recover', '--resume'",
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
            },
        )
