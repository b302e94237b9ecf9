from __future__ import annotations

from django.apps import AppConfig


class ExampleConfig(AppConfig):
    name = "example"

    def ready(self) -> None:
        from example import operations  # noqa: F401  (registers example.fingerprint)
