"""Load: 20 users submit at once, 200 tasks queue up, 10 pollers ask for progress
every second (as the HTMX partial does) against gunicorn, while Celery works through
the queue. Prints submitted / finished / lost and status-poll latency percentiles."""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import close_old_connections, connection
from django.db.models import Count
from django.test import override_settings

import bulkops
from benchmarks.harness import Report, percentile
from bulkops.models import BulkTask
from tests import services
from tests.testapp.models import Item

USERS = 20
TASKS_PER_USER = 10
ROWS_PER_TASK = 200
POLLERS = 10


def run(report: Report, args: argparse.Namespace) -> None:
    duration = 10.0 if args.quick else 300.0
    db_name = str(connection.settings_dict["NAME"])
    queue = f"bulkops-load-{uuid.uuid4().hex[:6]}"
    bench_env = {"DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    worker = services.celery_worker(db_name, "redis://127.0.0.1:6379/0", queue)
    worker.env.update(bench_env)
    worker.argv[worker.argv.index("-c") + 1] = "2"
    server = _gunicorn(db_name, bench_env)
    config = {
        "BACKEND": "bulkops.backends.celery.CeleryBackend",
        "SYNC_THRESHOLD": 0,
        "OPTIONS": {"queue": queue, "app": "tests.celery_app.redis_app"},
    }

    users, cookies = _users()
    Item.objects.all().delete()
    Item.objects.bulk_create(
        (Item(name=f"load {i}", value=0) for i in range(USERS * TASKS_PER_USER * ROWS_PER_TASK)),
        batch_size=10_000,
    )
    pks = list(Item.objects.order_by("pk").values_list("pk", flat=True))
    worker.start()
    server.start()
    try:
        submitted = _submit_all(users, pks, config)
        latencies, errors = _poll(submitted, cookies, duration, server_port=server.port)
        finished = _wait_all(submitted, timeout=600)
    finally:
        server.stop()
        worker.stop()

    statuses = dict(
        BulkTask.objects.filter(pk__in=[t for t, _ in submitted])
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    applied = dict(Item.objects.values_list("value").annotate(n=Count("pk")))
    lost = len(submitted) - statuses.get("succeeded", 0)
    report.add(
        "load",
        "tasks submitted",
        len(submitted),
        "tasks",
        note=f"{USERS} users at once, {ROWS_PER_TASK} rows each",
    )
    report.add("load", "tasks finished", finished, "tasks", note=str(statuses))
    report.add("load", "tasks lost (not succeeded)", lost, "tasks", target="0", ok=lost == 0)
    report.add(
        "load",
        "rows applied exactly once",
        applied.get(1, 0),
        "rows",
        target=f"{len(pks):,}",
        ok=applied == {1: len(pks)},
    )
    report.add(
        "load",
        "status polls",
        len(latencies),
        "requests",
        note=f"{POLLERS} pollers, every 1 s, {duration:.0f} s, gunicorn",
    )
    for pct in (50, 95, 99):
        value = percentile(latencies, pct) * 1000 if latencies else float("nan")
        report.add(
            "load",
            f"status poll p{pct}",
            value,
            "ms",
            **({"target": "< 50 ms", "ok": value < 50} if pct == 95 else {}),
        )
    report.add("load", "poll errors", errors, "responses", target="0", ok=errors == 0)


class _Server:
    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.argv, self.env, self.port = argv, env, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=services.ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        services.wait_for(lambda: services.port_open("127.0.0.1", self.port), timeout=30)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(15)


def _gunicorn(db_name: str, env: dict[str, str]) -> _Server:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "benchmarks.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "2",
        "-k",
        "gthread",
        "--threads",
        "4",
    ]
    return _Server(argv, services.worker_env(db_name, **env), port)


def _users() -> tuple[list[Any], dict[int, str]]:
    model = get_user_model()
    users, cookies = [], {}
    for i in range(USERS):
        user, _ = model.objects.get_or_create(username=f"load-{i}")
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        users.append(user)
        cookies[user.pk] = f"sessionid={session.session_key}"
    return users, cookies


def _submit_all(users: list[Any], pks: list[int], config: dict[str, Any]) -> list[tuple[Any, int]]:
    barrier = threading.Barrier(len(users))

    def submit_for(index: int) -> list[tuple[Any, int]]:
        user = users[index]
        barrier.wait()  # every user clicks at the same moment
        made = []
        try:
            with override_settings(BULKOPS=config):
                for j in range(TASKS_PER_USER):
                    start = (index * TASKS_PER_USER + j) * ROWS_PER_TASK
                    chunk = pks[start : start + ROWS_PER_TASK]
                    task = bulkops.submit(
                        "tests.increment",
                        user=user,
                        queryset=Item.objects.filter(pk__gte=chunk[0], pk__lte=chunk[-1]),
                        params={"delay": 0, "chunk_size": 100},
                    )
                    made.append((task.pk, user.pk))
        finally:
            close_old_connections()
        return made

    with ThreadPoolExecutor(len(users)) as pool:
        return [item for batch in pool.map(submit_for, range(len(users))) for item in batch]


def _poll(
    submitted: list[tuple[Any, int]], cookies: dict[int, str], duration: float, server_port: int
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    codes: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def poller(index: int) -> None:
        nonlocal errors
        mine = [t for t, owner in submitted if owner == submitted[index * 7 % len(submitted)][1]]
        cookie = cookies[submitted[index * 7 % len(submitted)][1]]
        conn = http.client.HTTPConnection("127.0.0.1", server_port, timeout=10)
        n = 0
        while time.monotonic() < stop_at:
            task_id = mine[n % len(mine)]
            n += 1
            began = time.perf_counter()
            try:
                conn.request(
                    "GET",
                    f"/bulkops/tasks/{task_id}/status/",
                    headers={"Cookie": cookie, "HX-Request": "true"},
                )
                response = conn.getresponse()
                response.read()
                ok = response.status in (200, 286)
                codes[response.status] = codes.get(response.status, 0) + 1
            except OSError:
                ok = False
                conn = http.client.HTTPConnection("127.0.0.1", server_port, timeout=10)
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1
            time.sleep(max(0.0, 1.0 - elapsed))

    threads = [threading.Thread(target=poller, args=(i,)) for i in range(POLLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"  status codes seen: {codes}", flush=True)
    return latencies, errors


def _wait_all(submitted: list[tuple[Any, int]], timeout: float) -> int:
    ids = [t for t, _ in submitted]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = BulkTask.objects.filter(pk__in=ids, status__in=BulkTask.FINISHED).count()
        if done == len(ids):
            return done
        time.sleep(0.5)
    return BulkTask.objects.filter(pk__in=ids, status__in=BulkTask.FINISHED).count()
