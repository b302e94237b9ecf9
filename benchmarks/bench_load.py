"""Load: 20 users submit at once, 200 tasks queue up, and 10 real browsers (Chromium,
one logged-in user each) watch their progress bars poll every second for 5 minutes,
against gunicorn, while a Celery worker works through the queue. A browser whose user
has nothing left running submits that user's ten jobs again, so the polling and the
queue last the whole run. Prints tasks submitted / finished / lost, rows applied
exactly once, and the status-poll latency percentiles the browsers measured.

``--nice N`` runs the Celery worker at that CPU niceness (the web server, PostgreSQL and
the browsers as they are): on a host shared by web and worker processes, batch work
yielding the CPU to requests is the usual deployment.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
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
from tests.services import CHROMIUM, CHROMIUM_ARGS
from tests.testapp.models import Item

USERS = 20
TASKS_PER_USER = 10
# Ten chunks of 100 rows each, with a short pause per chunk standing in for heavier
# per-row work: a job runs about as long as a browser polls a few times.
ROWS_PER_TASK = 1_000
CHUNK = 100
CHUNK_PAUSE = 0.05
BROWSERS = 10


def run(report: Report, args: argparse.Namespace) -> None:
    duration = 20.0 if args.quick else 300.0
    nice = int(args.nice)
    db_name = str(connection.settings_dict["NAME"])
    queue = f"bulkops-load-{uuid.uuid4().hex[:6]}"
    bench_env = {"DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    worker = services.celery_worker(db_name, services.REDIS_URL, queue)
    worker.env.update(bench_env)
    worker.argv[worker.argv.index("-c") + 1] = "2"
    if nice:
        worker.argv[:0] = ["nice", "-n", str(nice)]
    server = _gunicorn(db_name, bench_env)
    config = {
        "BACKEND": "bulkops.backends.celery.CeleryBackend",
        "SYNC_THRESHOLD": 0,
        "OPTIONS": {"queue": queue, "app": "tests.celery_app.redis_app"},
    }

    users, sessions = _users()
    Item.objects.all().delete()
    Item.objects.bulk_create(
        (Item(name=f"load {i}", value=0) for i in range(USERS * TASKS_PER_USER * ROWS_PER_TASK)),
        batch_size=10_000,
    )
    pks = list(Item.objects.order_by("pk").values_list("pk", flat=True))
    load = _Load(users, pks, config)
    worker.start()
    server.start()
    try:
        load.submit_at_once(range(USERS))
        first_wave = len(load.submitted)
        latencies, codes, failures = _browsers(load, sessions, duration, server.port)
        finished = _wait_all(load.ids(), timeout=600)
    finally:
        server.stop()
        worker.stop()

    ids = load.ids()
    statuses = dict(
        BulkTask.objects.filter(pk__in=ids).values_list("status").annotate(n=Count("pk"))
    )
    lost = len(ids) - statuses.get("succeeded", 0)
    wrong_rows = load.rows_not_applied_exactly()
    group = f"load ({duration:.0f} s, worker nice {nice})"
    report.add(
        group,
        "tasks submitted",
        len(ids),
        "tasks",
        note=(
            f"{USERS} users x {TASKS_PER_USER} at once ({first_wave}), then again per browser; "
            f"{ROWS_PER_TASK:,} rows each, chunks of {CHUNK}, {CHUNK_PAUSE} s pause per chunk"
        ),
    )
    report.add(group, "tasks finished", finished, "tasks", note=str(statuses))
    report.add(group, "tasks lost (not succeeded)", lost, "tasks", target="0", ok=lost == 0)
    report.add(
        group,
        "rows not applied exactly once per task",
        wrong_rows,
        "rows",
        target="0",
        ok=wrong_rows == 0,
    )
    report.add(
        group,
        "status polls",
        len(latencies),
        "requests",
        note=f"{BROWSERS} Chromium pages, htmx every 1 s, gunicorn; codes {dict(codes)}",
    )
    for pct in (50, 95, 99):
        value = percentile(latencies, pct) if latencies else float("nan")
        report.add(
            group,
            f"status poll p{pct} (browser-measured)",
            value,
            "ms",
            **({"target": "< 50 ms", "ok": value < 50} if pct == 95 else {}),
        )
    errors = failures + sum(n for code, n in codes.items() if code not in (200, 286))
    report.add(group, "poll errors", errors, "responses", target="0", ok=errors == 0)


class _Load:
    """The jobs: every user owns ten row ranges; each job adds 1 to one range."""

    def __init__(self, users: list[Any], pks: list[int], config: dict[str, Any]) -> None:
        self.users, self.pks, self.config = users, pks, config
        self.submitted: list[tuple[Any, int]] = []  # (task id, user index)
        self.waves: Counter[int] = Counter()

    def ids(self) -> list[Any]:
        return [task for task, _ in self.submitted]

    def _rows(self, index: int, slot: int) -> list[int]:
        start = (index * TASKS_PER_USER + slot) * ROWS_PER_TASK
        return self.pks[start : start + ROWS_PER_TASK]

    def submit(self, index: int) -> list[tuple[Any, int]]:
        """The user's ten jobs, as one click on each of ten ranges."""
        made = []
        with override_settings(BULKOPS=self.config):
            for slot in range(TASKS_PER_USER):
                rows = self._rows(index, slot)
                task = bulkops.submit(
                    "tests.increment",
                    user=self.users[index],
                    queryset=Item.objects.filter(pk__gte=rows[0], pk__lte=rows[-1]),
                    params={"delay": CHUNK_PAUSE, "chunk_size": CHUNK},
                )
                made.append((task.pk, index))
        self.waves[index] += 1
        return made

    def submit_at_once(self, indexes: range) -> None:
        barrier = threading.Barrier(len(indexes))

        def click(index: int) -> list[tuple[Any, int]]:
            barrier.wait()  # every user clicks at the same moment
            try:
                return self.submit(index)
            finally:
                close_old_connections()

        with ThreadPoolExecutor(len(indexes)) as pool:
            for made in pool.map(click, indexes):
                self.submitted.extend(made)

    def next_for(self, index: int) -> Any:
        """An unfinished task of the user to watch; a new wave if none is left."""
        mine = [task for task, owner in self.submitted if owner == index]
        pending = (
            BulkTask.objects.filter(pk__in=mine)
            .exclude(status__in=BulkTask.FINISHED)
            .order_by("created_at")
            .values_list("pk", flat=True)
            .first()
        )
        if pending is not None:
            return pending
        made = self.submit(index)
        self.submitted.extend(made)
        return made[0][0]

    def rows_not_applied_exactly(self) -> int:
        """Rows whose value is not the number of jobs that covered them."""
        wrong = 0
        for index in range(len(self.users)):
            first, last = self._rows(index, 0)[0], self._rows(index, TASKS_PER_USER - 1)[-1]
            wrong += (
                Item.objects.filter(pk__gte=first, pk__lte=last)
                .exclude(value=self.waves[index])
                .count()
            )
        return wrong


def _browsers(
    load: _Load, sessions: list[str], duration: float, port: int
) -> tuple[list[float], Counter[int], int]:
    """Each browser page watches one task of its user at a time, like a user would."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made
    # between browser steps are still plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    failures = 0

    def finished(request: Any) -> None:
        if "/status/" in request.url:
            # Milliseconds from the request's start to the last byte of the answer.
            latencies.append(float(request.timing["responseEnd"]))

    def answered(response: Any) -> None:
        if "/status/" in response.url:
            codes[response.status] += 1

    def failed(request: Any) -> None:
        nonlocal failures
        if "/status/" in request.url:
            failures += 1

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for index in range(BROWSERS):
            context = browser.new_context(base_url=base)
            context.add_cookies([{"name": "sessionid", "value": sessions[index], "url": base}])
            page = context.new_page()
            page.on("requestfinished", finished)
            page.on("response", answered)
            page.on("requestfailed", failed)
            pages.append(page)
        stop_at = time.monotonic() + duration
        watching: list[Any] = [None] * BROWSERS
        while time.monotonic() < stop_at:
            for index, page in enumerate(pages):
                status = watching[index] and page.evaluate(
                    "() => document.querySelector('.bulkops-progress')?.dataset.status"
                )
                if status in (None, "", *BulkTask.FINISHED):
                    watching[index] = load.next_for(index)
                    page.goto(f"/bulkops/tasks/{watching[index]}/")
            pages[0].wait_for_timeout(500)  # browsers poll on their own meanwhile
        browser.close()
    return latencies, codes, failures


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


def _users() -> tuple[list[Any], list[str]]:
    model = get_user_model()
    users, sessions = [], []
    for i in range(USERS):
        user, _ = model.objects.get_or_create(username=f"load-{i}")
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        users.append(user)
        sessions.append(session.session_key or "")
    return users, sessions


def _wait_all(ids: list[Any], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = BulkTask.objects.filter(pk__in=ids, status__in=BulkTask.FINISHED).count()
        if done == len(ids):
            return done
        time.sleep(0.5)
    return BulkTask.objects.filter(pk__in=ids, status__in=BulkTask.FINISHED).count()
