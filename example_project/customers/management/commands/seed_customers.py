"""Create customers fast with bulk_create: ``manage.py seed_customers --count 100000``."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from customers.models import Customer, Order

CITIES = [
    ("Lisbon", "PT"),
    ("Porto", "PT"),
    ("Madrid", "ES"),
    ("Sevilla", "ES"),
    ("Lima", "PE"),
    ("Cusco", "PE"),
    ("Lyon", "FR"),
    ("Paris", "FR"),
]
FIRST = ["Ana", "Bruno", "Carla", "Diego", "Elena", "Fábio", "Gabriela", "Hugo", "Inês", "João"]
LAST = ["Silva", "Santos", "García", "Quispe", "Martin", "Ferreira", "López", "Rojas"]


class Command(BaseCommand):
    help = "Create COUNT customers (default 100,000) and a few orders that PROTECT them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=100_000)
        parser.add_argument("--orders", type=int, default=200, help="customers with an order")
        parser.add_argument("--batch-size", type=int, default=5_000)
        parser.add_argument("--clear", action="store_true", help="delete existing customers")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when customers exist"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Customer.objects.exists():
            return
        started = time.monotonic()
        rng = random.Random(42)
        count, batch_size = options["count"], options["batch_size"]
        if options["clear"]:
            Order.objects.all().delete()
            Customer.objects.all().delete()
        offset = Customer.objects.count()
        with transaction.atomic():
            for start in range(0, count, batch_size):
                customers = []
                for i in range(start, min(start + batch_size, count)):
                    n = offset + i
                    city, country = CITIES[rng.randrange(len(CITIES))]
                    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                    customers.append(
                        Customer(
                            name=name,
                            email=f"customer{n}@example.com",
                            city=city,
                            country=country,
                            active=rng.random() > 0.1,
                        )
                    )
                Customer.objects.bulk_create(customers, batch_size=batch_size)
            ids = list(
                Customer.objects.order_by("?").values_list("pk", flat=True)[: options["orders"]]
            )
            Order.objects.bulk_create(
                Order(customer_id=pk, total=rng.randint(5, 500)) for pk in ids
            )
        self.stdout.write(
            f"Created {count:,} customers and {len(ids):,} orders "
            f"in {time.monotonic() - started:.1f} s."
        )
