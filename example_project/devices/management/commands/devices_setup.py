from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand

from bulkops.contrib.zk.models import Device
from devices.models import Employee

SCHEDULE_NAME = "Time clock: download attendance"


class Command(BaseCommand):
    help = "Create demo employees and a time clock pointing at the local simulator."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--employees", type=int, default=300)
        parser.add_argument("--host", default=os.environ.get("EXAMPLE_ZK_HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("EXAMPLE_ZK_PORT", "4370"))
        )

        parser.add_argument(
            "--no-schedule", action="store_true", help="Do not schedule the attendance download."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not Employee.objects.exists():
            departments = ["sales", "ops", "it", ""]
            Employee.objects.bulk_create(
                Employee(
                    badge=str(1000 + n),
                    full_name=f"Employee {n:04d}",
                    card_number=5_000_000 + n if n % 3 else None,
                    is_admin=n == 1,
                    department=departments[n % len(departments)],
                )
                for n in range(1, options["employees"] + 1)
            )
            self.stdout.write(f"Created {options['employees']} demo employees")
        device, created = Device.objects.update_or_create(
            name="Simulator",
            defaults={"host": options["host"], "port": options["port"], "timeout": 5},
        )
        if created:
            self.stdout.write(f"Added the time clock {device.name} at {device.host}:{device.port}")
        if not options["no_schedule"]:
            self.schedule_download()

    def schedule_download(self) -> None:
        """Download attendance every minute on django-q2's scheduler, as the demo user."""
        from django.apps import apps
        from django.contrib.auth import get_user_model

        owner = get_user_model().objects.filter(username="demo").first()
        if not apps.is_installed("django_q") or owner is None:
            return
        from bulkops.schedules import django_q_schedule

        django_q_schedule(SCHEDULE_NAME, "zk.download_attendance", minutes=1, user=owner)
        self.stdout.write(f"Scheduled '{SCHEDULE_NAME}' every minute (pause it in the admin)")
