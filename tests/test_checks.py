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


SQLITE = "django.db.backends.sqlite3"


def sqlite_ids(settings: Any, options: dict[str, Any]) -> list[str]:
    from bulkops.sqlite_check import check_sqlite

    databases = {"jobs": {"ENGINE": SQLITE, "NAME": "jobs.sqlite3", "OPTIONS": options}}
    return [str(m.id) for m in check_sqlite(databases)]


def test_sqlite_with_the_recommended_options_passes(settings: Any) -> None:
    from bulkops.sqlite_check import RECOMMENDED_OPTIONS

    assert sqlite_ids(settings, dict(RECOMMENDED_OPTIONS)) == []


def test_sqlite_without_wal_immediate_or_timeout_is_warned_with_the_fix(settings: Any) -> None:
    from bulkops.sqlite_check import check_sqlite

    assert sqlite_ids(settings, {}) == ["bulkops.W005"]
    [message] = check_sqlite({"jobs": {"ENGINE": SQLITE, "OPTIONS": {}}})
    assert "DATABASES['jobs']" in message.msg
    assert "journal_mode=WAL" in message.msg
    assert "'transaction_mode' is not 'IMMEDIATE'" in message.msg
    assert "transaction_mode" in (message.hint or "")
    deferred = {"init_command": "PRAGMA journal_mode = wal;", "timeout": 20}
    assert sqlite_ids(settings, deferred) == ["bulkops.W005"]
    short_wait = {"init_command": "PRAGMA journal_mode=WAL", "transaction_mode": "IMMEDIATE"}
    assert sqlite_ids(settings, {**short_wait, "timeout": 1}) == ["bulkops.W005"]


def test_the_example_project_uses_exactly_the_recommended_sqlite_options(
    monkeypatch: Any,
) -> None:
    import runpy
    from pathlib import Path

    from bulkops.sqlite_check import RECOMMENDED_OPTIONS

    monkeypatch.delenv("EXAMPLE_POSTGRES", raising=False)
    path = Path(__file__).parent.parent / "example_project/example/settings.py"
    example = runpy.run_path(str(path))
    assert example["DATABASES"]["default"]["OPTIONS"] == RECOMMENDED_OPTIONS


def test_the_check_reads_the_sites_databases(settings: Any) -> None:
    # The test settings on SQLite use the recommended options; PostgreSQL is not checked.
    assert "bulkops.W005" not in ids(settings)
