"""Live progress: database reads per second for 50 stream watchers against 50 pollers.

One uvicorn process (tests/asgi.py, which counts its queries) serves one running task
whose progress a writer advances twice a second. First 50 ``EventSource``-style
clients hold the server-sent-events stream open; then 50 clients poll the task's JSON
every ``POLL_INTERVAL`` (1 s), as the HTMX bar and the WSGI fallback do. Each phase
counts every query the server ran (sessions, users, task rows) over the same window.
Target: the stream at most one tenth of the polling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.request
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from benchmarks.harness import Report
from bulkops.models import BulkTask
from tests import services
from tests.sse import read_events

PORT = services.free_port()  # chosen when the benchmark module loads
CLIENTS = 50


def run(report: Report, args: argparse.Namespace) -> None:
    duration = 5.0 if args.quick else 20.0
    db_name = str(connection.settings_dict["NAME"])
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(PORT),
        "--lifespan",
        "off",
        "--no-access-log",
    ]
    env = services.worker_env(db_name, DJANGO_SETTINGS_MODULE="benchmarks.settings")
    server = services.Worker("uvicorn-bench", argv, env, "Uvicorn running").start()
    try:
        user, session = _user()
        task = BulkTask.objects.create(
            operation="update",
            owner=user,
            status="running",
            total=1_000_000,
            started_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        stream = asyncio.run(_phase(_watch, task, session, duration))
        poll = asyncio.run(_phase(_poll, task, session, duration))
    finally:
        server.stop()
    group = f"live progress ({CLIENTS} clients, {duration:.0f} s)"
    report.add(
        group,
        "pollers: DB queries/s",
        poll["queries"],
        "queries/s",
        note=f"GET the task's JSON every 1 s; {poll['events']:.0f} answers/s",
    )
    report.add(group, "pollers: task-row reads/s", poll["task_reads"], "reads/s")
    report.add(group, "stream: task-row reads/s", stream["task_reads"], "reads/s")
    ratio = stream["queries"] / poll["queries"] if poll["queries"] else float("inf")
    report.add(
        group,
        "stream: DB queries/s",
        stream["queries"],
        "queries/s",
        baseline="pollers",
        ratio=ratio,
        target="<= 0.1x",
        ok=ratio <= 0.1,
        note=f"one poller per task every 0.5 s; {stream['events']:.0f} events/s to watchers",
    )


async def _phase(client: Any, task: BulkTask, session: str, duration: float) -> dict[str, float]:
    stop = asyncio.Event()
    seen = [0]
    clients = [asyncio.ensure_future(client(task, session, stop, seen)) for _ in range(CLIENTS)]
    writer = asyncio.ensure_future(_advance(task, stop))
    await asyncio.sleep(2.0)  # everyone connected; the window starts in steady state
    before = await asyncio.to_thread(_counts)
    await asyncio.sleep(duration)
    after = await asyncio.to_thread(_counts)
    stop.set()
    for future in clients:
        future.cancel()
    await asyncio.gather(*clients, writer, return_exceptions=True)
    result = {k: (after[k] - before[k]) / duration for k in ("queries", "task_reads")}
    result["events"] = seen[0] / (duration + 2.0)
    return result


async def _advance(task: BulkTask, stop: asyncio.Event) -> None:
    processed = 0
    while not stop.is_set():
        processed += 1000
        await asyncio.to_thread(_write, task.pk, processed)
        await asyncio.sleep(0.5)


def _write(pk: Any, processed: int) -> None:
    BulkTask.objects.filter(pk=pk).update(
        processed=processed, succeeded_count=processed, heartbeat_at=timezone.now()
    )


async def _watch(task: BulkTask, session: str, stop: asyncio.Event, seen: list[int]) -> None:
    path = reverse("bulkops:api-task-events", kwargs={"pk": task.pk})

    def count(event: Any) -> None:
        seen[0] += 1

    await read_events(PORT, path, session, timeout=3600, on_event=count)


async def _poll(task: BulkTask, session: str, stop: asyncio.Event, seen: list[int]) -> None:
    path = reverse("bulkops:api-task", kwargs={"pk": task.pk})
    request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nCookie: sessionid={session}\r\n\r\n"
    tick = time.monotonic()
    while not stop.is_set():
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        writer.write(request.encode())
        await reader.read()
        writer.close()
        seen[0] += 1
        # Every second on the clock, like setInterval, however long the answer took.
        tick += 1.0
        await asyncio.sleep(max(0.0, tick - time.monotonic()))


def _counts() -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/__queries__") as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _user() -> tuple[Any, str]:
    user, _ = get_user_model().objects.get_or_create(username="stream-bench")
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return user, session.session_key or ""
