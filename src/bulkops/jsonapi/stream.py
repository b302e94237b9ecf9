"""Server-sent events per task: progress changes, then one ``finished`` event.

Under ASGI each process keeps one poller per watched task: it reads the task row every
``STREAM_INTERVAL`` seconds while anyone watches and hands each change to every
watcher, so fifty open pages cost one read per interval, not fifty. The poller stops
when the last watcher leaves or the task finishes.

Under WSGI a held-open response would pin a worker thread per watcher, so the same URL
answers the current state at once with a ``retry:`` hint and closes: ``EventSource``
reconnects after that delay, which is polling with the same client code.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from bulkops.conf import settings
from bulkops.jsonapi.auth import authenticate
from bulkops.jsonapi.http import ApiError
from bulkops.jsonapi.serialize import task_json
from bulkops.models import BulkTask
from bulkops.views.tasks import _task_for

logger = logging.getLogger("bulkops")
KEEPALIVE_SECONDS = 15.0
# What makes a new event: the numbers and words a progress bar shows, not the clock.
CHANGE_KEYS = (
    "status",
    "outcome",
    "total",
    "processed",
    "succeeded",
    "failed",
    "skipped",
    "percent",
    "stage",
    "message",
    "cancel_requested",
)


@dataclass
class Snapshot:
    task: BulkTask
    data: dict[str, Any]
    errors: list[Any]

    @property
    def key(self) -> tuple[Any, ...]:
        return tuple(self.data.get(k) for k in CHANGE_KEYS)

    @property
    def finished(self) -> bool:
        return bool(self.data["is_finished"])


@dataclass
class TaskPoller:
    """The one reader of a task's row in this process, fanning changes out to watchers."""

    task_id: str
    watchers: set[asyncio.Queue[Snapshot | None]] = field(default_factory=set)
    last: Snapshot | None = None
    reads: int = 0
    runner: asyncio.Task[None] | None = None

    def watch(self) -> asyncio.Queue[Snapshot | None]:
        queue: asyncio.Queue[Snapshot | None] = asyncio.Queue()
        if self.last is not None:
            queue.put_nowait(self.last)
        self.watchers.add(queue)
        if self.runner is None:
            # A fresh context: the loop must not borrow the first request's thread
            # executor, which closes when that request ends while others still watch.
            loop = asyncio.get_running_loop()
            self.runner = contextvars.Context().run(loop.create_task, self.run())
        return queue

    def leave(self, queue: asyncio.Queue[Snapshot | None]) -> None:
        self.watchers.discard(queue)

    async def run(self) -> None:
        try:
            while self.watchers:
                try:
                    snapshot = await sync_to_async(poll_snapshot)(self.task_id)
                except Exception:
                    # The streams end; EventSource reconnects after ``retry`` and a
                    # new poller tries again.
                    logger.exception("bulkops: reading task %s for its stream", self.task_id)
                    break
                self.reads += 1
                if snapshot is None or self.last is None or snapshot.key != self.last.key:
                    if snapshot is not None:
                        self.last = snapshot
                    for queue in list(self.watchers):
                        queue.put_nowait(snapshot)
                if snapshot is None or snapshot.finished:
                    break
                await asyncio.sleep(float(settings.STREAM_INTERVAL))
        finally:
            pollers().pop(self.task_id, None)
            for queue in list(self.watchers):
                queue.put_nowait(None)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, TaskPoller]] = (
    weakref.WeakKeyDictionary()
)


def pollers() -> dict[str, TaskPoller]:
    """This event loop's pollers (one loop per ASGI process)."""
    return _by_loop.setdefault(asyncio.get_running_loop(), {})


def poller_for(task_id: str) -> TaskPoller:
    registry = pollers()
    poller = registry.get(task_id)
    if poller is None:
        poller = registry[task_id] = TaskPoller(task_id)
    return poller


def poll_snapshot(task_id: str) -> Snapshot | None:
    # The poller outlives requests, so no request_finished closes its connection:
    # honour CONN_MAX_AGE and drop a broken connection here, as a request would.
    close_old_connections()
    return read_snapshot(task_id)


def read_snapshot(task_id: str) -> Snapshot | None:
    task = BulkTask.objects.filter(pk=task_id).first()
    if task is None:
        return None
    data = task_json(task)
    errors = list(task.errors.all()[:5]) if task.is_finished and task.failed_count else []
    return Snapshot(task, data, errors)


def _authorize(request: HttpRequest, pk: Any) -> BulkTask:
    user, _csrf = authenticate(request)
    if user is None:
        raise ApiError(401, "not_authenticated", _("Log in to use this API."))
    request.user = user
    return _task_for(request, pk)


def format_event(snapshot: Snapshot, request: HttpRequest, html: bool) -> str:
    name = "finished" if snapshot.finished else "progress"
    payload: str
    if html:
        payload = render_to_string(
            "bulkops/partials/progress.html",
            {"task": snapshot.task, "errors": snapshot.errors, "streamed": True},
            request,
        )
    else:
        payload = json.dumps(snapshot.data)
    data = "".join(f"data: {line}\n" for line in payload.splitlines() or [""])
    return f"id: {snapshot.data['processed']}-{snapshot.data['status']}\nevent: {name}\n{data}\n"


async def task_events(request: HttpRequest, pk: Any) -> HttpResponse:
    """``text/event-stream`` of one task; ``?format=html`` sends the progress partial."""
    if request.method != "GET":
        response = ApiError(405, "method_not_allowed", _("Use %s.") % "GET").response()
        response["Allow"] = "GET"
        return response
    try:
        task = await sync_to_async(_authorize)(request, pk)
    except ApiError as exc:
        return exc.response()
    except Http404:
        return ApiError(404, "not_found", _("Not found.")).response()
    html = request.GET.get("format") == "html"
    if not isinstance(request, ASGIRequest):
        snapshot = await sync_to_async(read_snapshot)(str(task.pk))
        assert snapshot is not None
        retry = int(float(settings.POLL_INTERVAL) * 1000)
        body = f"retry: {retry}\n" + await sync_to_async(format_event)(snapshot, request, html)
        return _headers(HttpResponse(body, content_type="text/event-stream"))
    return _headers(
        StreamingHttpResponse(
            _stream(request, str(task.pk), html), content_type="text/event-stream"
        )
    )


async def _stream(request: HttpRequest, task_id: str, html: bool) -> AsyncIterator[str]:
    poller = poller_for(task_id)
    queue = poller.watch()
    try:
        yield f"retry: {int(float(settings.POLL_INTERVAL) * 1000)}\n\n"
        while True:
            try:
                snapshot = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except asyncio.TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if snapshot is None:
                return
            if html:
                yield await sync_to_async(format_event)(snapshot, request, html)
            else:
                yield format_event(snapshot, request, html)
            if snapshot.finished:
                return
    finally:
        poller.leave(queue)


def _headers(response: HttpResponse | StreamingHttpResponse) -> Any:
    response["Cache-Control"] = "no-store"
    # nginx buffers proxied responses by default, which would hold events back.
    response["X-Accel-Buffering"] = "no"
    return response
