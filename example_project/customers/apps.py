from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers customers.deactivate and the customer import definition.
        from customers import imports, operations  # noqa: F401
