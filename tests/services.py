"""Real services and worker processes for the tests.

A test that needs a service fails when CI=true and the service is missing; on a
developer machine it is skipped with the reason.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Debian's Chromium (never a downloaded build), with the flags it needs in a container.
CHROMIUM = os.environ.get("BULKOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOG_DIR = ROOT / "test-results" / "workers"
# Service addresses: the same environment variables as tests/settings.py reads.
REDIS_URL = os.environ.get("BULKOPS_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("BULKOPS_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def free_port() -> int:
    """A port nothing listens on now, so parallel test runs never share a server's port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(service: str, host: str, port: int) -> None:
    if port_open(host, port):
        return
    message = f"{service} is not reachable on {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: services are required)")
    pytest.skip(message)


def _address(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def redis_up() -> bool:
    return port_open(*_address(REDIS_URL, 6379))


def rabbitmq_up() -> bool:
    return port_open(*_address(RABBITMQ_URL, 5672))


def require_redis() -> None:
    require("Redis", *_address(REDIS_URL, 6379))


def require_rabbitmq() -> None:
    require("RabbitMQ", *_address(RABBITMQ_URL, 5672))


class Worker:
    """A real worker process (Celery, a django-q2 cluster, a Django tasks db_worker)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], ready: str) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.ready = ready
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Worker:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready in self.log():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        output = self.log()[-3000:]
        self.stop()
        raise RuntimeError(f"{self.name} did not start ({' '.join(self.argv)}):\n{output}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its children die at once."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, grace: float = 5) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds: a django-q2 cluster's warm
        shutdown alone takes longer than the tests that use it."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        if hasattr(self, "_log"):
            self._log.close()


def worker_env(db_name: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "BULKOPS_DB_NAME": db_name,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def celery_worker(db_name: str, broker: str, queue: str) -> Worker:
    env = worker_env(
        db_name,
        BULKOPS_CELERY_BROKER=broker,
        BULKOPS_BACKEND="bulkops.backends.celery.CeleryBackend",
    )
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tests.celery_app",
        "worker",
        "-Q",
        queue,
        "-c",
        "1",
        "--pool",
        "prefork",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "info",
        "-n",
        f"{queue}@%h",
    ]
    return Worker(f"celery-{queue}", argv, env, ready="ready.")


def q_cluster(db_name: str, broker: str) -> Worker:
    env = worker_env(db_name, BULKOPS_Q_BROKER=broker)
    argv = [sys.executable, "-m", "django", "qcluster"]
    return Worker(f"qcluster-{broker}", argv, env, ready="running.")


def db_worker(db_name: str, queue: str) -> Worker:
    env = worker_env(db_name)
    argv = [
        sys.executable,
        "-m",
        "django",
        "db_worker",
        "--queue-name",
        queue,
        "--interval",
        "0.1",
        "--no-startup-delay",
        "-v",
        "2",
    ]
    return Worker(f"db-worker-{queue}", argv, env, ready="Starting worker")


def wait_for(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
