from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests import services


@pytest.fixture(scope="session")
def test_db_name(django_db_setup: Any, django_db_blocker: Any) -> str:
    with django_db_blocker.unblock():
        return str(connection.settings_dict["NAME"])


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


class WorkerPool:
    """Starts each kind of worker once per session, on first use, and stops them all."""

    def __init__(self, db_name: str, run_id: str) -> None:
        self.db_name = db_name
        self.run_id = run_id
        self.workers: dict[str, services.Worker] = {}

    def get(self, kind: str) -> dict[str, Any]:
        """Start (once) and describe the worker for ``kind``: backend path and options."""
        queue = f"bulkops-{kind}-{self.run_id}"
        if kind == "celery-redis":
            services.require_redis()
            self._start(
                kind,
                lambda: services.celery_worker(self.db_name, services.REDIS_URL, queue),
            )
            return {
                "BACKEND": "bulkops.backends.celery.CeleryBackend",
                "OPTIONS": {"queue": queue, "app": "tests.celery_app.redis_app"},
            }
        if kind == "celery-rabbitmq":
            services.require_rabbitmq()
            broker = services.RABBITMQ_URL
            self._start(kind, lambda: services.celery_worker(self.db_name, broker, queue))
            return {
                "BACKEND": "bulkops.backends.celery.CeleryBackend",
                "OPTIONS": {"queue": queue, "app": "tests.celery_app.rabbitmq_app"},
            }
        # django-q2 signs each task with the cluster name, so the test process and the
        # cluster share Q_CLUSTER["name"] (unique per checkout) and differ only in broker.
        if kind == "django-q-orm":
            self._start(kind, lambda: services.q_cluster(self.db_name, "orm"))
            return {"BACKEND": "bulkops.backends.django_q.DjangoQBackend", "OPTIONS": {}}
        if kind == "django-q-redis":
            services.require_redis()
            self._start(kind, lambda: services.q_cluster(self.db_name, "redis"))
            return {
                "BACKEND": "bulkops.backends.django_q.DjangoQBackend",
                "OPTIONS": {"broker": "django_q.brokers.redis_broker.Redis"},
            }
        if kind == "django-tasks":
            # Django tasks only accept queues declared in TASKS.
            queue = f"bulkops-{django_settings.CHECKOUT}"
            self._start(kind, lambda: services.db_worker(self.db_name, queue))
            return {
                "BACKEND": "bulkops.backends.tasks.DjangoTasksBackend",
                "OPTIONS": {"queue_name": queue},
            }
        if kind == "immediate":
            return {"BACKEND": "bulkops.backends.immediate.ImmediateBackend", "OPTIONS": {}}
        raise ValueError(kind)

    def worker(self, kind: str) -> services.Worker:
        return self.workers[kind]

    def _start(self, kind: str, factory: Any) -> None:
        worker = self.workers.get(kind)
        if worker is None or worker.process is None or worker.process.poll() is not None:
            self.workers[kind] = factory().start()

    def restart(self, kind: str) -> services.Worker:
        old = self.workers[kind]
        fresh = services.Worker(old.name, old.argv, old.env, old.ready).start()
        self.workers[kind] = fresh
        return fresh

    def stop(self, kind: str) -> None:
        """Stop the session's worker of ``kind`` (it starts again on the next get())."""
        worker = self.workers.pop(kind, None)
        if worker is not None:
            worker.stop()

    def stop_all(self) -> None:
        for worker in self.workers.values():
            worker.stop()


@pytest.fixture(scope="session")
def workers(test_db_name: str, run_id: str) -> Iterator[WorkerPool]:
    pool = WorkerPool(test_db_name, run_id)
    yield pool
    pool.stop_all()


@pytest.fixture
def dummy_backend(settings: Any) -> Iterator[list[Any]]:
    """Tasks are only recorded; the test runs them with ``runner.run``."""
    from bulkops.backends.dummy import DummyBackend

    settings.BULKOPS = {**settings.BULKOPS, "BACKEND": "bulkops.backends.dummy.DummyBackend"}
    DummyBackend.enqueued = []
    yield DummyBackend.enqueued
    DummyBackend.enqueued = []


@pytest.fixture
def user(django_user_model: Any) -> Any:
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("alice", password="pw")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_item", "delete_item", "add_item"])
    )
    return user


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("mallory", password="pw")


@pytest.fixture
def items(db: Any) -> list[Any]:
    from tests.testapp.models import Item

    return Item.objects.bulk_create(Item(name=f"item {i}", value=i) for i in range(25))


@pytest.fixture
def customer_user(django_user_model: Any) -> Any:
    """A user who may change and delete customers."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("carol", password="pw")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="testapp",
            codename__in=["view_customer", "change_customer", "delete_customer"],
        )
    )
    return user


@pytest.fixture
def customers(db: Any) -> list[Any]:
    from tests.testapp.models import Customer

    cities = ["Lisbon", "Porto", "Braga"]
    return Customer.objects.bulk_create(
        Customer(
            name=f"Customer {i:03d}",
            email=f"c{i}@example.com",
            city=cities[i % 3],
            country="PT",
        )
        for i in range(30)
    )


@pytest.fixture
def fixed_chunks(settings: Any) -> None:
    """Chunks of exactly the asked row count on SQLite too (where time sizes them), for
    tests that count statements or stop at the n-th chunk."""
    settings.BULKOPS = {**settings.BULKOPS, "SQLITE_CHUNK_SECONDS": 0}


@pytest.fixture(scope="session")
def asgi_server(test_db_name: str, django_db_blocker: Any) -> Iterator[int]:
    """The test project under uvicorn (tests/asgi.py) on the test database; its port."""
    port = services.free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--no-access-log",
    ]
    # Jobs started through it are recorded, not run: a request never waits on a job.
    env = services.worker_env(test_db_name, BULKOPS_BACKEND="bulkops.backends.dummy.DummyBackend")
    env["BULKOPS_DB_APPNAME"] = UVICORN_APP  # names its sessions, to wait for them below
    server = services.Worker("uvicorn", argv, env, "Uvicorn running")
    server.start()
    yield port
    server.stop()
    # PostgreSQL ends a dead client's session a moment later; the test database can
    # only be dropped once it has.
    with django_db_blocker.unblock():
        services.wait_for(lambda: not server_sessions(), timeout=10)


UVICORN_APP = "bulkops-test-uvicorn"


def server_sessions() -> int:
    """The uvicorn server's sessions still open on the test database (PostgreSQL)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [UVICORN_APP],
        )
        return int(cursor.fetchone()[0])
