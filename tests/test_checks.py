from __future__ import annotations

from typing import Any

from bulkops.checks import check_settings


def ids(settings: Any, **bulkops: Any) -> list[str]:
    settings.BULKOPS = bulkops
    return [str(message.id) for message in check_settings()]


def test_default_settings_pass(settings: Any) -> None:
    assert ids(settings) == []


def test_unimportable_backend_is_an_error_with_the_fix(settings: Any) -> None:
    settings.BULKOPS = {"BACKEND": "bulkops.backends.nope.NopeBackend"}
    [message] = check_settings()
    assert message.id == "bulkops.E002"
    assert "cannot be imported" in message.msg


def test_unknown_key_and_bad_numbers(settings: Any) -> None:
    assert ids(settings, CHUNK_SIZ=5, CHUNK_SIZE=0) == ["bulkops.W001", "bulkops.E005"]


def test_django_q_backend_needs_its_app(settings: Any) -> None:
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "django_q"]
    assert ids(settings, BACKEND="bulkops.backends.django_q.DjangoQBackend") == ["bulkops.E003"]


def test_override_settings_reaches_the_backend(settings: Any) -> None:
    from bulkops.backends import get_backend

    settings.BULKOPS = {"BACKEND": "bulkops.backends.dummy.DummyBackend"}
    assert type(get_backend()).__name__ == "DummyBackend"
    settings.BULKOPS = {}
    assert type(get_backend()).__name__ == "ImmediateBackend"
