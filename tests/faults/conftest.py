from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

import bulkops
from bulkops.models import BulkTask
from tests import services


class Scenario:
    """One job on a worker of its own, which the test may kill and start again."""

    def __init__(self, worker: services.Worker, config: dict[str, Any]) -> None:
        self.worker = worker
        self.config = config

    def submit(self, name: str, **kwargs: Any) -> BulkTask:
        with override_settings(BULKOPS={**self.config, "SYNC_THRESHOLD": 0}):
            return bulkops.submit(name, **kwargs)

    def restart(self) -> None:
        old = self.worker
        self.worker = services.Worker(old.name, old.argv, old.env, old.ready).start()


def wait_processed(task: BulkTask, at_least: int, timeout: float = 60) -> BulkTask:
    def reached() -> BulkTask | None:
        task.refresh_from_db()
        assert not task.is_finished, f"finished before the fault: {task.status} {task.message}"
        return task if task.processed >= at_least else None

    return services.wait_for(reached, timeout=timeout, interval=0.02)


def wait_finished(task: BulkTask, timeout: float = 120) -> BulkTask:
    def finished() -> BulkTask | None:
        task.refresh_from_db()
        return task if task.is_finished else None

    return services.wait_for(finished, timeout=timeout, interval=0.05)


def holder(task: BulkTask) -> str:
    task.refresh_from_db()
    return task.worker


def assert_dead(worker: str) -> None:
    from bulkops.liveness import holder_is_dead

    assert services.wait_for(lambda: holder_is_dead(worker), timeout=10), worker


@pytest.fixture
def scenario(test_db_name: str, workers: Any) -> Iterator[Any]:
    """scenario(kind, **env) starts a worker of that kind just for this test."""
    made: list[Scenario] = []

    def make(kind: str, **env: str) -> Scenario:
        # django-q2 clusters share the cluster name and Django tasks workers the queue
        # with the session's workers: one left running would take this test's task.
        for shared in ("django-q-orm", "django-q-redis", "django-tasks"):
            workers.stop(shared)
        queue = f"bulkops-fault-{uuid.uuid4().hex[:8]}"
        if kind == "celery-rabbitmq":
            services.require_rabbitmq()
            worker = services.celery_worker(test_db_name, services.RABBITMQ_URL, queue)
            config = {
                "BACKEND": "bulkops.backends.celery.CeleryBackend",
                "OPTIONS": {"queue": queue, "app": "tests.celery_app.rabbitmq_app"},
            }
        elif kind == "celery-redis":
            services.require_redis()
            broker = env.pop("BROKER", services.REDIS_URL)
            worker = services.celery_worker(test_db_name, broker, queue)
            config = {
                "BACKEND": "bulkops.backends.celery.CeleryBackend",
                "OPTIONS": {"queue": queue, "app": env.pop("APP", "tests.celery_app.redis_app")},
            }
        elif kind == "django-q-orm":
            worker = services.q_cluster(test_db_name, "orm")
            config = {"BACKEND": "bulkops.backends.django_q.DjangoQBackend", "OPTIONS": {}}
        elif kind == "django-tasks":
            from django.conf import settings

            queue = f"bulkops-{settings.CHECKOUT}"
            worker = services.db_worker(test_db_name, queue)
            config = {
                "BACKEND": "bulkops.backends.tasks.DjangoTasksBackend",
                "OPTIONS": {"queue_name": queue},
            }
        else:
            raise ValueError(kind)
        worker.env.update(env)
        made.append(Scenario(worker.start(), config))
        return made[-1]

    yield make
    for item in made:
        item.worker.stop()


@pytest.fixture
def private_redis(tmp_path: Any) -> Iterator[Any]:
    """A Redis server of the test's own, on a free port, that it may stop and restart."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        process: subprocess.Popen[bytes] | None = None

        def start(self) -> None:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmp_path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            services.wait_for(lambda: services.port_open("127.0.0.1", port), timeout=10)

        def kill(self) -> None:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    if subprocess.run(["which", "redis-server"], capture_output=True).returncode:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (CI=true: services are required)")
        pytest.skip("redis-server is not installed")
    server = Server()
    server.start()
    yield server
    server.kill()
    time.sleep(0.1)
