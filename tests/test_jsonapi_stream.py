"""Server-sent events under uvicorn: 50 watchers of one task, one poller behind them."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bulkops.models import BulkTask
from tests.sse import read_events

WATCHERS = 50


def update(task: BulkTask, **fields: Any) -> None:
    """Write as a worker would, from a thread that closes its connection afterwards."""
    from django.db import connection

    try:
        BulkTask.objects.filter(pk=task.pk).update(**fields)
    finally:
        connection.close()


def counts(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__queries__") as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.mark.django_db(transaction=True)
def test_fifty_watchers_see_every_change_and_the_finish_from_one_poller(
    asgi_server: int, user: Any
) -> None:
    task = BulkTask.objects.create(
        operation="update",
        owner=user,
        status="running",
        total=50,
        processed=0,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    path = reverse("bulkops:api-task-events", kwargs={"pk": task.pk})
    steps = [5 * i for i in range(1, 10)]  # 10%, 20%, ... 90%

    async def scenario() -> tuple[list[list[Any]], int, float]:
        watchers = [
            asyncio.ensure_future(read_events(asgi_server, path, session)) for _ in range(WATCHERS)
        ]
        await asyncio.sleep(1.0)  # every watcher connected and got the first state
        before = counts(asgi_server)["task_reads"]
        started = time.monotonic()
        for processed in steps:
            await asyncio.to_thread(
                update,
                task,
                processed=processed,
                succeeded_count=processed,
                heartbeat_at=timezone.now(),
            )
            await asyncio.sleep(0.35)  # > 3 stream intervals (0.1 s in tests.settings)
        await asyncio.to_thread(
            update,
            task,
            status="succeeded",
            outcome="succeeded",
            processed=50,
            succeeded_count=50,
            finished_at=timezone.now(),
        )
        results = await asyncio.gather(*watchers)
        elapsed = time.monotonic() - started
        reads = counts(asgi_server)["task_reads"] - before
        return results, reads, elapsed

    results, reads, elapsed = asyncio.run(scenario())

    for events in results:
        names = [e.name for e in events]
        assert names[-1] == "finished" and names.count("finished") == 1
        percents = [e.json()["percent"] for e in events]
        assert percents == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
        assert events[-1].json()["outcome"] == "succeeded"
    # One poller reads the row every 0.1 s for all 50 watchers: about elapsed / 0.1
    # reads, where one poller per watcher would make 50 times as many.
    assert reads <= elapsed / 0.1 * 1.5 + 5, (reads, elapsed)


@pytest.mark.django_db(transaction=True)
def test_stream_is_404_for_someone_elses_task(asgi_server: int, user: Any, other_user: Any) -> None:
    task = BulkTask.objects.create(operation="update", owner=user, status="running")
    client = Client()
    client.force_login(other_user)
    url = f"http://127.0.0.1:{asgi_server}" + reverse(
        "bulkops:api-task-events", kwargs={"pk": task.pk}
    )
    request = urllib.request.Request(
        url, headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 404
    assert json.loads(caught.value.read())["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
def test_the_poller_stops_when_the_last_watcher_leaves(asgi_server: int, user: Any) -> None:
    task = BulkTask.objects.create(
        operation="update", owner=user, status="running", total=10, heartbeat_at=timezone.now()
    )
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    path = reverse("bulkops:api-task-events", kwargs={"pk": task.pk})

    async def watch_briefly() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", asgi_server)
        writer.write(
            f"GET {path} HTTP/1.0\r\nHost: x\r\nCookie: sessionid={session}\r\n\r\n".encode()
        )
        await reader.readuntil(b"event: progress")
        writer.close()

    async def scenario() -> None:
        await asyncio.gather(*(watch_briefly() for _ in range(5)))

    asyncio.run(scenario())
    time.sleep(0.5)  # the server notices the closed connections
    before = counts(asgi_server)["task_reads"]
    time.sleep(1.0)  # ten stream intervals

    assert counts(asgi_server)["task_reads"] == before
