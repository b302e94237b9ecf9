"""SQLite under jobs: how long a web write waits while 0, 1 or 3 jobs run, and 30 at once.

Needs ``BULKOPS_TEST_DB=sqlite``. A gunicorn site (benchmarks.settings, the recommended
SQLite options) and a django-q2 cluster on the ORM broker (3 processes) share one SQLite
file, as the example project does. The jobs are ``tests.row_work``: an update with
0.2 ms of work per row inside the chunk's transaction (per-row saves, signals), so a
1,000-row chunk holds the write lock about 200 ms unless chunks are sized by time.

Measured per scenario: a selection toggle (an htmx POST that saves the session) every
50 ms, p50/p95/max, and the number answered with an error ("database is locked" in the
server log); then a Cancel POST on a running job and the time until the job is
cancelled. Rows marked "fixed chunks" run the same with SQLITE_CHUNK_SECONDS=0 and
SQLITE_CHUNK_PAUSE=0 (the behaviour before chunks were paced).
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import override_settings

import bulkops
from benchmarks.harness import Report, percentile
from bulkops import api
from bulkops.models import BulkTask
from tests import services
from tests.testapp.models import Customer, Item

ROWS_PER_JOB = 100_000
SMALL_JOB = 1_000
AT_ONCE = 30
TOGGLES = 60
LOCKED = "database is locked"
Q_CONFIG = {
    "BACKEND": "bulkops.backends.django_q.DjangoQBackend",
    "OPTIONS": {},
    "SYNC_THRESHOLD": 0,
}


def run(report: Report, args: argparse.Namespace) -> None:
    if connection.vendor != "sqlite":
        print("  (skipped: run with BULKOPS_TEST_DB=sqlite)")
        return
    toggles = 20 if args.quick else TOGGLES
    db_name = str(connection.settings_dict["NAME"])
    Item.objects.all().delete()
    Item.objects.bulk_create(
        (Item(name=f"row {i}") for i in range(3 * ROWS_PER_JOB + AT_ONCE * SMALL_JOB)),
        batch_size=10_000,
    )
    Customer.objects.all().delete()
    customers = Customer.objects.bulk_create(
        Customer(name=f"C{i}", email=f"c{i}@example.com") for i in range(25)
    )
    first = Item.objects.order_by("pk").values_list("pk", flat=True)[0]
    cookies = _session_cookies()

    for pacing in ("on", "off"):
        site = _Site(db_name, pacing)
        try:
            site.start()
            client = _Client(site.port, cookies, customers[0].pk)
            for jobs in (0, 1, 3) if pacing == "on" else (1,):
                label = f"{jobs} job{'s' if jobs != 1 else ''} running"
                if pacing == "off":
                    label += ", fixed chunks"
                tasks = [
                    _submit("tests.row_work", first + n * ROWS_PER_JOB, ROWS_PER_JOB)
                    for n in range(jobs)
                ]
                _wait_running(tasks)
                # Before pacing a toggle could wait out the whole busy timeout: fewer of them.
                latencies, errors = client.toggles(toggles if pacing == "on" else 10)
                locked = site.locked_lines()
                _latency_rows(report, label, latencies, errors, locked, gate=jobs == 1)
                if tasks:
                    _cancel_row(report, label, client, tasks[0])
                    for task in tasks[1:]:
                        api.cancel(task)
                    _wait_finished(tasks)
            if pacing == "on":
                _thirty_at_once(report, client, site, first + 3 * ROWS_PER_JOB, toggles)
        finally:
            site.stop()


def _latency_rows(
    report: Report,
    label: str,
    latencies: list[float],
    errors: int,
    locked: int,
    *,
    gate: bool,
) -> None:
    group = f"SQLite web write, {label}"
    p95, top = percentile(latencies, 95), max(latencies)
    report.add(group, "selection toggle p50", percentile(latencies, 50) * 1000, "ms")
    report.add(
        group,
        "selection toggle p95",
        p95 * 1000,
        "ms",
        target="< 300 ms" if gate else "",
        ok=p95 < 0.3 if gate else None,
    )
    report.add(
        group,
        "selection toggle max",
        top * 1000,
        "ms",
        target="< 1000 ms" if gate else "",
        ok=top < 1.0 if gate else None,
    )
    report.add(group, "requests failed", errors, "", note=f"'{LOCKED}' in logs: {locked}")


def _cancel_row(report: Report, label: str, client: _Client, task: BulkTask) -> None:
    posted, answered = client.cancel(task.pk)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task.refresh_from_db()
        if task.is_finished:
            break
        time.sleep(0.01)
    took = time.monotonic() - posted
    group = f"SQLite web write, {label}"
    report.add(group, "cancel POST answered", answered * 1000, "ms")
    report.add(
        group,
        "cancel takes effect",
        took * 1000,
        "ms",
        target="< 1000 ms",
        ok=took < 1.0 and task.status == BulkTask.Status.CANCELLED,
        note=f"{task.processed:,} of {task.total or 0:,} rows applied",
    )


def _thirty_at_once(report: Report, client: _Client, site: _Site, start: int, toggles: int) -> None:
    group = f"SQLite, {AT_ONCE} jobs submitted at once"
    with ThreadPoolExecutor(AT_ONCE + 1) as pool:
        watcher = pool.submit(client.toggles, toggles)
        started = time.perf_counter()
        outcomes = list(pool.map(lambda n: _timed_submit(start + n * SMALL_JOB), range(AT_ONCE)))
        submit_seconds = time.perf_counter() - started
        latencies, errors = watcher.result()
    tasks = [task for task, _, _ in outcomes if task is not None]
    failures = sum(1 for _, _, error in outcomes if error)
    _wait_finished(tasks, timeout=600)
    ok = sum(1 for t in tasks if t.status == BulkTask.Status.SUCCEEDED)
    locked = site.locked_lines()
    report.add(group, "submit, slowest", max(s for _, s, _ in outcomes) * 1000, "ms")
    report.add(group, "all submitted in", submit_seconds * 1000, "ms")
    report.add(group, "selection toggle p95", percentile(latencies, 95) * 1000, "ms")
    report.add(group, "selection toggle max", max(latencies) * 1000, "ms")
    report.add(
        group,
        f"'{LOCKED}' (submits, web, workers)",
        failures + errors + locked,
        "",
        target="0",
        ok=failures + errors + locked == 0,
        note=f"{ok} of {AT_ONCE} jobs succeeded",
    )


def _timed_submit(start: int) -> tuple[BulkTask | None, float, str]:
    began = time.perf_counter()
    try:
        task = _submit("tests.row_work", start, SMALL_JOB)
        return task, time.perf_counter() - began, ""
    except Exception as exc:  # noqa: BLE001 - counted, the benchmark goes on
        return None, time.perf_counter() - began, str(exc)
    finally:
        connection.close()


def _submit(name: str, start: int, rows: int) -> BulkTask:
    queryset = Item.objects.filter(pk__gte=start, pk__lt=start + rows)
    with override_settings(BULKOPS=Q_CONFIG):
        return bulkops.submit(name, queryset=queryset, params={"row_seconds": 0.0002})


def _wait_running(tasks: list[BulkTask]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(BulkTask.objects.get(pk=t.pk).processed > 0 for t in tasks):
            return
        time.sleep(0.05)
    raise RuntimeError("the jobs did not start within 60 s")


def _wait_finished(tasks: list[BulkTask], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in tasks:
            task.refresh_from_db()
        if all(task.is_finished for task in tasks):
            return
        time.sleep(0.2)
    raise RuntimeError(f"jobs still running after {timeout} s")


def _session_cookies() -> str:
    user, _ = get_user_model().objects.get_or_create(username="sqlite-bench", is_superuser=True)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.save()
    csrf = secrets.token_hex(16)
    return f"sessionid={session.session_key}; csrftoken={csrf}"


class _Client:
    def __init__(self, port: int, cookies: str, pk: Any) -> None:
        self.port, self.cookies, self.pk = port, cookies, pk
        self.csrf = cookies.rsplit("csrftoken=", 1)[1]

    def post(self, path: str, body: str) -> tuple[int, float]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {
            "Cookie": self.cookies,
            "X-CSRFToken": self.csrf,
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        began = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            status = conn.getresponse().status
        finally:
            conn.close()
        return status, time.perf_counter() - began

    def toggles(self, count: int) -> tuple[list[float], int]:
        latencies, errors = [], 0
        for n in range(count):
            body = f"bulk_op=toggle&bulk_pk={self.pk}&bulk_page={self.pk}"
            status, took = self.post("/customers/", body + ("&bulk_checked=1" if n % 2 else ""))
            latencies.append(took)
            errors += status >= 400
            time.sleep(0.05)
        return latencies, errors

    def cancel(self, pk: Any) -> tuple[float, float]:
        posted = time.monotonic()
        status, took = self.post(f"/bulkops/tasks/{pk}/cancel/", "")
        if status >= 400:
            raise RuntimeError(f"cancel answered {status}")
        return posted, took


class _Site:
    """gunicorn and a django-q2 cluster (3 processes) on the benchmark's SQLite file."""

    def __init__(self, db_name: str, pacing: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        env = services.worker_env(
            db_name,
            DJANGO_SETTINGS_MODULE="benchmarks.settings",
            BULKOPS_BENCH_SQLITE_PACING=pacing,
            BULKOPS_Q_WORKERS="3",
        )
        self.env = env
        log_dir = services.LOG_DIR
        log_dir.mkdir(parents=True, exist_ok=True)
        self.web_log = log_dir / f"bench-sqlite-web-{pacing}.log"
        self.cluster = services.Worker(
            "bench-sqlite-qcluster", [sys.executable, "-m", "django", "qcluster"], env, "running."
        )
        self.web: subprocess.Popen[bytes] | None = None
        self._seen = 0

    def start(self) -> None:
        self.cluster.start()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "benchmarks.wsgi",
            "-b",
            f"127.0.0.1:{self.port}",
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "4",
        ]
        self._web_log = open(self.web_log, "wb")  # noqa: SIM115 - closed in stop()
        self.web = subprocess.Popen(
            argv, env=self.env, cwd=services.ROOT, stdout=self._web_log, stderr=subprocess.STDOUT
        )
        services.wait_for(lambda: services.port_open("127.0.0.1", self.port), timeout=30)

    def locked_lines(self) -> int:
        """'database is locked' lines logged by the server and the workers since last asked."""
        text = Path(self.web_log).read_text(errors="replace") + self.cluster.log()
        total = text.count(LOCKED) + text.count("Failed to pull task from broker")
        new, self._seen = total - self._seen, total
        return new

    def stop(self) -> None:
        if self.web is not None:
            self.web.terminate()
            self.web.wait(15)
            self._web_log.close()
        self.cluster.stop()


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
